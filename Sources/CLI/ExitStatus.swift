import Akin
import AkinServer
import Foundation

/// A command's runtime failure that is no usage error: printed without the usage line.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    var status: Int32
}

/// The sysexits(3) status `akin` exits with after a runtime error: 65 for input that is not what
/// it should be, 66 for input that is not there, 74 for a file that cannot be written, 70 for an
/// internal failure, 75 for a gallery another process keeps locked (try again), 1 for the rest of
/// Akin's. The argument parser reports its own (usage errors, 64; help requests, 0).
enum ExitStatus {
    static let dataError: Int32 = 65, noInput: Int32 = 66, software: Int32 = 70, ioError: Int32 = 74, temporaryFailure: Int32 = 75
    static let failure: Int32 = 1
    /// EX_UNAVAILABLE: a service Akin needs (a PostgreSQL server) cannot be reached.
    static let unavailable: Int32 = 69
    static let configError: Int32 = 78

    /// The status for one of Akin's errors; nil for any other (the argument parser's own, such as
    /// a help request from a command that has only subcommands, which it reports itself).
    static func of(_ error: Error) -> Int32? {
        switch error {
        case let failure as CommandFailure: return failure.status
        case let error as GalleryStoreError:
            switch error {
            case .missing: return noInput
            case .cannotOpen, .database: return ioError
            case .cannotConnect: return unavailable
            case .locked: return temporaryFailure
            case .exists: return failure
            default: return dataError
            }
        case let error as DatasetError:
            if case .missing = error { return noInput }
            return dataError
        case let error as IDXError:
            if case .unreadable = error { return noInput }
            return dataError
        case let error as DataParallelError:
            switch error {
            case .communication: return ioError
            case .processCountDiffers: return dataError
            // Options the processes cannot honour together: a usage error, as the parser's are.
            case .notLaunchedByMPI, .launchedWithoutDistributed, .unsupported, .batchTooSmall: return 64
            }
        case let error as CheckpointError:
            if case .missing = error { return noInput }
            return dataError
        case is FileWriteError, is ReportError: return ioError
        case let error as GalleryError:
            if case .interrupted = error { return ioError }
            return dataError
        case let error as ServerError:
            if case .badDirectory = error { return noInput }
            return configError
        case is OneDNNError: return software
        case is ImageError, is EmbeddingError, is NpyError, is SafeTensorsError, is NetworkFileError, is ONNXImportError, is IndexFileError,
             is IDXImportError, is TrainingRunError, is TrainingOptionsError, is PKSamplerError, is AugmentationError:
            return dataError
        default: return nil
        }
    }
}
