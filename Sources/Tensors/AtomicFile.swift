import Foundation

public enum FileWriteError: Error, CustomStringConvertible {
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotWrite(path, reason):
            return "cannot write \(path): \(reason). Check that the folder exists and is writable, and that the disk has room."
        }
    }
}

/// Writes a file whole or not at all: the bytes go to a temporary file in the same folder,
/// are flushed to disk, and only then renamed over the destination. A crash leaves either the
/// old file or the new one, never half of one. `durable: false` skips the flush, for bulk jobs of
/// many small files where a process crash (not a power cut) is the case to survive.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, durable: Bool = true) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        LeftoverFiles.removeDead(besides: path)
        let temporary = directory + "/" + LeftoverFiles.prefix(of: path) + "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else {
            throw FileWriteError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
        }
        var failure: String?
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += written
            }
        }
        if failure == nil, durable, fsync(descriptor) != 0 { failure = String(cString: strerror(errno)) }
        if close(descriptor) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        if failure == nil, rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if failure == nil, durable {
            // The rename itself must reach the disk too: flush the folder's entry.
            let folder = open(directory.isEmpty ? "." : directory, O_RDONLY)
            if folder >= 0 { fsync(folder); close(folder) }
        }
        if let failure {
            unlink(temporary)
            throw FileWriteError.cannotWrite(path: path, reason: failure)
        }
    }
}
