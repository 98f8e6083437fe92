import Foundation

/// A Python that can import the reference packages a test compares against (onnx, onnxruntime,
/// tensorboard): the test virtualenv that README's first command makes, `AKIN_TEST_PYTHON`, or the
/// benchmark's. Tests that need one run wherever it is found and always under CI, where its
/// absence is a failure rather than a skip.
public enum ReferencePython {
    public static func path(importing modules: [String]) -> String? {
        let home = FileManager.default.homeDirectoryForCurrentUser.path
        let environment = ProcessInfo.processInfo.environment
        let candidates = [environment["AKIN_TEST_PYTHON"], home + "/.cache/akin-test/venv/bin/python",
                          home + "/.cache/akin-bench/venv/bin/python"].compactMap { $0 }
        return candidates.first { candidate in
            guard FileManager.default.isExecutableFile(atPath: candidate) else { return false }
            return (try? run(candidate, ["-c", modules.map { "import \($0)" }.joined(separator: "; ")]).status) == 0
        }
    }

    /// A file of the repository (`scripts/…`), found from this source file's place.
    public static func repositoryFile(_ relativePath: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(relativePath).path
    }

    public static var underCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Runs `python arguments…` and returns its exit status and what it printed.
    public static func run(_ python: String, _ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        // Errors go to a file, so a child that writes much to both streams cannot block on a full pipe.
        let errorsPath = NSTemporaryDirectory() + "akin-python-\(UUID().uuidString).err"
        _ = FileManager.default.createFile(atPath: errorsPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errorsPath) }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle(forWritingAtPath: errorsPath)
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        // FileHandle, not FileManager.contents(atPath:): the latter leaks 4 KB on an empty file (LeakSanitizer).
        let errors = FileHandle(forReadingAtPath: errorsPath)?.readDataToEndOfFile() ?? Data()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self))
    }
}
