import Foundation

/// Image files a user names — files as they are, folders walked recursively — each labelled by the
/// name of the folder it sits in.
///
/// Unlike ``ClassFolders`` (a training tree, exactly `<root>/<class>/<image>`, its shape checked),
/// any mix of files and nested folders is accepted: what embedding and searching take. Files in a
/// folder are taken in sorted order; hidden files and names without a .jpg, .jpeg or .png
/// extension are passed over.
public struct ImageFiles: Sendable {
    /// Each file's path and the index of its label in ``classNames``.
    public var files: [(path: String, label: Int)]
    /// The folder names, in the order they were first met.
    public var classNames: [String]

    /// Lists the files (nothing is decoded). Throws ``DatasetError/missing(_:)`` for a path that
    /// does not exist and ``DatasetError/noImageFiles(_:)`` when nothing named is an image file.
    public static func collect(_ paths: [String]) throws(DatasetError) -> ImageFiles {
        var found: [String] = []
        let manager = FileManager.default
        for argument in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: argument, isDirectory: &isDirectory) else { throw .missing(argument) }
            guard isDirectory.boolValue else { found.append(argument); continue }
            let enumerator = manager.enumerator(atPath: argument)
            var inFolder: [String] = []
            while let relative = enumerator?.nextObject() as? String {
                let name = (relative as NSString).lastPathComponent
                guard !name.hasPrefix("."), ClassFolders.imageExtensions.contains((name as NSString).pathExtension.lowercased()) else { continue }
                inFolder.append((argument as NSString).appendingPathComponent(relative))
            }
            found += inFolder.sorted()
        }
        guard !found.isEmpty else { throw .noImageFiles(paths) }
        var classNames: [String] = [], labelOf: [String: Int] = [:]
        let files = found.map { path -> (path: String, label: Int) in
            let folder = ((path as NSString).deletingLastPathComponent as NSString).lastPathComponent
            if labelOf[folder] == nil { labelOf[folder] = classNames.count; classNames.append(folder) }
            return (path, labelOf[folder]!)
        }
        return ImageFiles(files: files, classNames: classNames)
    }
}
