import Foundation
import Tensors

/// Why IDX files could not be written out as a class-folder tree.
public enum IDXImportError: Error, CustomStringConvertible, Equatable {
    case wrongDimensions(path: String, dimensions: [Int], expected: String)
    case countMismatch(images: String, count: Int, labels: String, labelCount: Int)
    case classNames(given: Int, largestLabel: Int)
    case badClassName(String)
    case writeFailures(failed: Int, of: Int, folder: String)

    public var description: String {
        switch self {
        case let .wrongDimensions(path, dimensions, expected): return "\(path) has dimensions \(dimensions); \(expected)"
        case let .countMismatch(images, count, labels, labelCount): return "\(images) holds \(count) images but \(labels) holds \(labelCount) labels"
        case let .classNames(given, largest):
            return "--class-names gives \(given) names; the labels go up to \(largest), so \(largest + 1) distinct, non-empty names are needed"
        case let .badClassName(name): return "--class-names: \"\(name)\" cannot be a folder name (it would leave the output folder); rename the class"
        case let .writeFailures(failed, count, folder): return "\(failed) of \(count) images could not be written to \(folder)"
        }
    }
}

/// IDX image and label files (MNIST, Fashion-MNIST) written out as `<out>/<class>/<index>.png`.
public enum IDXClassFolders {
    /// Folder names for `classNames` (a '/' becomes '-', since a folder name cannot hold it), or the
    /// label numbers when nil. Throws unless there is one distinct, non-empty name for every label
    /// up to `largestLabel`, none of them "." or "..".
    public static func folderNames(_ classNames: [String]?, largestLabel: Int) throws(IDXImportError) -> [String] {
        guard let classNames else { return (0...largestLabel).map(String.init) }
        let names = classNames.map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "/", with: "-") }
        guard names.count > largestLabel, !names.contains(where: \.isEmpty), Set(names).count == names.count else {
            throw .classNames(given: names.count, largestLabel: largestLabel)
        }
        if let bad = names.first(where: { $0 == "." || $0 == ".." || $0.contains("\0") }) { throw .badClassName(bad) }
        return names
    }

    /// Writes every image of `imagesPath` as a PNG under its label's folder in `out`, on all cores;
    /// each file is written whole or not at all. `progress(done, total)` is called from worker
    /// threads, `failed(index, error)` for the first ten images that could not be written. Returns the
    /// number of images and of classes written.
    @discardableResult
    public static func write(images imagesPath: String, labels labelsPath: String, classNames: [String]?, to out: String,
                             progress: @Sendable (Int, Int) -> Void = { _, _ in },
                             failed: @Sendable (Int, Error) -> Void = { _, _ in }) throws -> (images: Int, classes: Int) {
        let pixels = try IDXArray.read(imagesPath), labels = try IDXArray.read(labelsPath)
        guard pixels.dimensions.count == 3 else {
            throw IDXImportError.wrongDimensions(path: imagesPath, dimensions: pixels.dimensions, expected: "an image file has three (count, height, width)")
        }
        guard labels.dimensions.count == 1 else {
            throw IDXImportError.wrongDimensions(path: labelsPath, dimensions: labels.dimensions, expected: "a label file has one (count)")
        }
        let count = pixels.dimensions[0], height = pixels.dimensions[1], width = pixels.dimensions[2]
        guard labels.dimensions[0] == count else {
            throw IDXImportError.countMismatch(images: imagesPath, count: count, labels: labelsPath, labelCount: labels.dimensions[0])
        }
        let names = try folderNames(classNames, largestLabel: Int(labels.bytes.max() ?? 0))
        for name in Set(labels.bytes.map { names[Int($0)] }) {
            try FileManager.default.createDirectory(atPath: out + "/" + name, withIntermediateDirectories: true)
        }
        let failures = Counter(), written = Counter()
        let plane = height * width
        let digits = String(count - 1).count
        ComputeThreads.forEach((count + 255) / 256) { chunk in
            for i in (chunk * 256)..<min(count, (chunk + 1) * 256) {
                let image = Image(width: width, height: height, channels: 1, pixels: Array(pixels.bytes[(i * plane)..<((i + 1) * plane)]))
                let name = String(i).zeroPadded(to: digits)
                do {
                    try AtomicFile.write(try ImageEncoder.png(image), to: "\(out)/\(names[Int(labels.bytes[i])])/\(name).png", durable: false)
                } catch {
                    if failures.add(1) <= 10 { failed(i, error) }
                }
            }
            progress(written.add(min(count, (chunk + 1) * 256) - chunk * 256), count)
        }
        if failures.value > 0 { throw IDXImportError.writeFailures(failed: failures.value, of: count, folder: out) }
        return (count, Set(labels.bytes).count)
    }
}
