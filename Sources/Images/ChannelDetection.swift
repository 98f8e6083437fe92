/// How many channels to train on when the user does not say.
public enum ChannelDetection {
    /// 1 when a sample of up to 8 images per class decodes with R = G = B everywhere, else 3.
    /// Files that fail to decode are passed over (loading reports them).
    public static func channels(of folders: ClassFolders) -> Int {
        var perClass = [Int](repeating: 0, count: folders.classNames.count)
        for file in folders.files where perClass[file.label] < 8 {
            perClass[file.label] += 1
            guard let image = try? ImageDecoder.decodeFile(file.path, channels: 3) else { continue }
            var i = 0
            while i < image.pixels.count {
                if image.pixels[i] != image.pixels[i + 1] || image.pixels[i] != image.pixels[i + 2] { return 3 }
                i += 3
            }
        }
        return 1
    }
}

extension ImageSet {
    /// Throws ``DatasetError/classTooSmall(root:className:images:)`` when, after bad files were
    /// skipped, a class has fewer than two images (an anchor needs a positive).
    public func requireTrainable(root: String) throws(DatasetError) {
        var counts = [Int](repeating: 0, count: classNames.count)
        for label in labels { counts[Int(label)] += 1 }
        if let small = counts.firstIndex(where: { $0 < 2 }) {
            throw .classTooSmall(root: root, className: classNames[small], images: counts[small])
        }
    }
}
