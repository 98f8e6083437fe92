import Foundation
import Images
import Tensors

/// Runs the built `akin` binary, as a user would.
struct CommandResult {
    var status: Int32
    var output: String
    var errors: String
}

enum CLI {
    static var binary: URL {
        let beside = Bundle.main.bundleURL.appendingPathComponent("akin")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/akin")
    }

    @discardableResult
    static func run(_ arguments: [String]) throws -> CommandResult { try capture(binary, arguments) }

    /// Starts `akin arguments…` without waiting (its output discarded), for processes that must run at once.
    static func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs any program to its end and returns its status and both streams.
    static func capture(_ executable: URL, _ arguments: [String]) throws -> CommandResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes while the process runs so neither can fill up and block it.
        nonisolated(unsafe) var errorData = Data()
        let reader = Thread { errorData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outputData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return CommandResult(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                             errors: String(decoding: errorData, as: UTF8.self))
    }
}

/// Trains to step 4 the way a crash leaves things: a run to step 2, one that goes on to log step 3
/// but dies before its next checkpoint (its step-3 checkpoint is put back to step 2's), and a
/// resume from step 2 to step 4 — so step 3 is logged twice. `train(steps, extra)` runs `akin train`.
func trainThroughAnInterruption(checkpoint: String, _ train: (_ steps: String, _ extra: [String]) throws -> Void) throws {
    try train("2", [])
    try FileManager.default.copyItem(atPath: checkpoint, toPath: checkpoint + ".step2")
    try train("3", ["--resume"])
    try FileManager.default.removeItem(atPath: checkpoint)
    try FileManager.default.moveItem(atPath: checkpoint + ".step2", toPath: checkpoint)
    try train("4", ["--resume"])
}
