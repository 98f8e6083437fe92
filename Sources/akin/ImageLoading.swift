import Foundation
import Images
import Similarity

/// Decodes files for a command: progress while it works, one line per file it had to skip, and
/// a count at the end. Bad files never stop the job.
enum ImageLoading {
    static func load(_ files: [(path: String, label: Int)], classNames: [String], imageSize: Int, channels: Int,
                     centerCrop: Float? = nil) -> ImageSet {
        let bar = ProgressBar("decoding", total: files.count, unit: "images", plainInterval: 5)
        let (images, skipped) = ImageSet.load(files, classNames: classNames, imageSize: imageSize, channels: channels,
                                              centerCrop: centerCrop) { done, total in
            bar.update(done)
        }
        for file in skipped { Console.note("skipped \(file.path): \(file.reason)") }
        if !skipped.isEmpty { Console.note("skipped \(skipped.count) of \(files.count) files that could not be decoded") }
        return images
    }

    /// The images named on the command line (folders walked), decoded as `embedding` expects them.
    /// Throws when there is no image file at all, or none that decodes.
    static func load(_ arguments: [String], for embedding: EmbeddingModel) throws -> ImageSet {
        let (files, classNames) = try collect(arguments)
        guard !files.isEmpty else { throw ValidationError("no .jpg, .jpeg or .png files in \(arguments.joined(separator: ", "))") }
        let p = embedding.preprocessing
        let images = load(files, classNames: classNames, imageSize: p.imageSize, channels: p.channels, centerCrop: p.centerCrop)
        guard images.count > 0 else { throw ValidationError("none of the \(files.count) files in \(arguments.joined(separator: ", ")) could be decoded") }
        return images
    }

    /// Image files named on the command line: folders are walked (recursively), single files taken
    /// as they are. Each file's label is the name of the folder it sits in.
    static func collect(_ arguments: [String]) throws -> (files: [(path: String, label: Int)], classNames: [String]) {
        var paths: [String] = []
        let manager = FileManager.default
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                throw ValidationError("\(argument) does not exist")
            }
            if isDirectory.boolValue {
                let enumerator = manager.enumerator(atPath: argument)
                var found: [String] = []
                while let relative = enumerator?.nextObject() as? String {
                    let name = (relative as NSString).lastPathComponent
                    guard !name.hasPrefix("."), ClassFolders.imageExtensions.contains((name as NSString).pathExtension.lowercased()) else { continue }
                    found.append((argument as NSString).appendingPathComponent(relative))
                }
                paths += found.sorted()
            } else {
                paths.append(argument)
            }
        }
        var classNames: [String] = [], labelOf: [String: Int] = [:]
        let files = paths.map { path -> (path: String, label: Int) in
            let folder = ((path as NSString).deletingLastPathComponent as NSString).lastPathComponent
            if labelOf[folder] == nil { labelOf[folder] = classNames.count; classNames.append(folder) }
            return (path, labelOf[folder]!)
        }
        return (files, classNames)
    }
}

import ArgumentParser
