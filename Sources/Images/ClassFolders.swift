import Foundation

public enum DatasetError: Error, CustomStringConvertible {
    case notAFolder(String)
    case noClasses(String)
    case tooFewClasses(root: String, found: [String])
    case classTooSmall(root: String, className: String, images: Int)
    case nothingUsable(String)
    case missing(String)
    case noImageFiles([String])
    case noneDecoded(files: Int, in: [String])
    case unknownClasses([String], folder: String, available: [String])

    public var description: String {
        switch self {
        case let .notAFolder(path):
            return "\(path) is not a folder. Give a folder with one sub-folder of images per class."
        case let .noClasses(path):
            return "\(path) has no class sub-folders holding .jpg, .jpeg or .png files. Lay the images out as \(path)/<class>/<image>."
        case let .tooFewClasses(root, found):
            return "\(root) has \(found.count) class\(found.count == 1 ? "" : "es") (\(found.joined(separator: ", "))); training needs at least 2, one sub-folder each."
        case let .classTooSmall(root, name, images):
            return "class \"\(name)\" in \(root) has \(images) usable image\(images == 1 ? "" : "s"); every class needs at least 2 (an anchor and a positive). Add images or remove the folder."
        case let .nothingUsable(path):
            return "no image under \(path) could be decoded"
        case let .missing(path):
            return "\(path) does not exist"
        case let .noImageFiles(arguments):
            return "no .jpg, .jpeg or .png files in \(arguments.joined(separator: ", "))"
        case let .noneDecoded(count, arguments):
            return "none of the \(count) files in \(arguments.joined(separator: ", ")) could be decoded"
        case let .unknownClasses(names, folder, available):
            let list = names.map { "\"\($0)\"" }.joined(separator: ", ")
            return "--classes: \(folder) has no class folder named \(list). Its classes are: \(available.joined(separator: ", ")). Give folder names, comma-separated."
        }
    }
}

/// The files of a `<root>/<class>/<image>` tree, in a fixed order (classes and files sorted by
/// name) so a seed gives the same run on any machine.
public struct ClassFolders: Sendable {
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]

    public var root: String
    public var classNames: [String]
    public var files: [(path: String, label: Int)]

    /// Lists the tree and checks its shape before any decoding starts.
    public static func scan(_ root: String, requireTrainable: Bool = true) throws -> ClassFolders {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError.notAFolder(root)
        }
        let entries = ((try? manager.contentsOfDirectory(atPath: root)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        var classNames: [String] = []
        var files: [(String, Int)] = []
        var emptyClasses: [String] = []
        for entry in entries {
            let folder = root + "/" + entry
            guard manager.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            let images = imageFiles(in: folder)
            if images.isEmpty { emptyClasses.append(entry); continue }
            let label = classNames.count
            classNames.append(entry)
            files += images.map { (folder + "/" + $0, label) }
        }
        guard !classNames.isEmpty else { throw DatasetError.noClasses(root) }
        if requireTrainable {
            if let empty = emptyClasses.first { throw DatasetError.classTooSmall(root: root, className: empty, images: 0) }
            guard classNames.count >= 2 else { throw DatasetError.tooFewClasses(root: root, found: classNames) }
            var counts = [Int](repeating: 0, count: classNames.count)
            for (_, label) in files { counts[label] += 1 }
            if let small = counts.firstIndex(where: { $0 < 2 }) {
                throw DatasetError.classTooSmall(root: root, className: classNames[small], images: counts[small])
            }
        }
        return ClassFolders(root: root, classNames: classNames, files: files)
    }

    /// The tree's files of the `wanted` classes only (all when nil); a wanted class the tree lacks
    /// is an error that lists the classes it has.
    public static func scan(_ root: String, keeping wanted: [String]?) throws -> ClassFolders {
        var scanned = try scan(root, requireTrainable: false)
        guard let wanted else { return scanned }
        let unknown = wanted.filter { !scanned.classNames.contains($0) }
        guard unknown.isEmpty else { throw DatasetError.unknownClasses(unknown, folder: root, available: scanned.classNames) }
        let keep = Set(wanted)
        scanned.files = scanned.files.filter { keep.contains(scanned.classNames[$0.label]) }
        return scanned
    }

    static func imageFiles(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { !$0.hasPrefix(".") && imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
    }
}
