import Akin
import ArgumentParser
import Foundation

@main
struct AkinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "akin",
        abstract: "Learned image similarity: train a triplet network, embed a gallery, search it, evaluate.",
        subcommands: [ImportIDX.self, Import.self, Train.self, Embed.self, GalleryCommand.self, IndexCommand.self, Search.self, Calibrate.self, Eval.self, Report.self, Export.self, Serve.self])

    /// Runs the command. A usage error (bad flags, or flags that do not fit what the command found)
    /// prints the usage line and exits 64; any other error is printed alone and exits with its
    /// sysexits status (`ExitStatus`).
    static func main() {
        var command: ParsableCommand
        do { command = try parseAsRoot() } catch { exit(withError: error) }
        do {
            try command.run()
        } catch let error as ValidationError {
            exit(withError: error)
        } catch let error as CleanExit {
            exit(withError: error)
        } catch {
            guard let status = ExitStatus.of(error) else { exit(withError: error) }
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            Foundation.exit(status)
        }
    }

    /// Sizes the OpenMP (oneDNN) and OpenBLAS pools once, before any kernel runs.
    static func configureThreads(_ requested: Int?) throws {
        if let requested, !(1...4096).contains(requested) { throw ValidationError("--threads must be between 1 and 4096, not \(requested)") }
        ComputeThreads.configure(count: requested ?? ProcessInfo.processInfo.activeProcessorCount)
    }
}
