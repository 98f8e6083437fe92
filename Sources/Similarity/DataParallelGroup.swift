/// The processes of a data-parallel training run, as the trainer needs them: who this one is, and
/// the two collective operations a step uses. `MPIGroup` (module MPIBackend) is the one
/// implementation; the trainer knows only this protocol, so Similarity links no MPI.
///
/// Every process calls each operation at the same point of the same step, with buffers of the
/// same sizes; an operation returns once every process has contributed.
public protocol DataParallelGroup: AnyObject {
    /// This process's index, 0 ..< `size`. Process 0 writes checkpoints and logs.
    var rank: Int { get }
    /// How many processes train together.
    var size: Int { get }
    /// Overwrites `buffer` on every process with the element-wise sum of every process's `buffer`.
    func sum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(DataParallelError)
    /// Writes every process's `local` into `global`, process r's at `offsets[r]`, its
    /// `counts[r]` floats long (`counts[rank] == local.count`).
    func gather(_ local: UnsafeBufferPointer<Float>, into global: UnsafeMutableBufferPointer<Float>,
                counts: [Int], offsets: [Int]) throws(DataParallelError)
}

extension DataParallelGroup {
    /// Whether this process writes the run's files and prints its progress.
    public var isLeader: Bool { rank == 0 }
}

/// Why a data-parallel run could not start or go on.
public enum DataParallelError: Error, CustomStringConvertible, Equatable, Sendable {
    /// `--distributed` in a process that `mpirun` did not start.
    case notLaunchedByMPI
    /// One of several processes `mpirun` started, told to train alone: each would write the same files.
    case launchedWithoutDistributed(processes: Int)
    /// An MPI call failed (a process died, the network went away): the run stops; its last checkpoint stands.
    case communication(operation: String, message: String)
    /// Fewer images a step than processes: some would have nothing to do.
    case batchTooSmall(imagesPerStep: Int, processes: Int)
    /// The checkpoint was written by a run with another number of processes.
    case processCountDiffers(checkpoint: Int, now: Int)
    /// An option whose work the processes cannot share yet.
    case unsupported(option: String, reason: String)

    public var description: String {
        switch self {
        case .notLaunchedByMPI:
            return "--distributed trains over the processes that mpirun starts: run it as `mpirun -np N akin train … --distributed`, or drop --distributed to train in this one process"
        case let .launchedWithoutDistributed(processes):
            return "mpirun started \(processes) processes, but without --distributed each would train the whole run alone and write the same files: "
                + "add --distributed to train one model over them, or run akin train without mpirun"
        case let .communication(operation, message):
            return "\(operation) between the training processes failed (\(message)): another process has probably died. "
                + "The last checkpoint stands: start the same mpirun command again with --resume."
        case let .batchTooSmall(images, processes):
            return "a step has \(images) images, fewer than the \(processes) processes: give each process at least one (a larger batch, or fewer processes)"
        case let .processCountDiffers(checkpoint, now):
            return "the checkpoint was written by \(checkpoint) process\(checkpoint == 1 ? "" : "es") and this run has \(now): "
                + "resume with the same count (\(checkpoint == 1 ? "without mpirun --distributed" : "mpirun -np \(checkpoint) … --distributed")), or start afresh with --overwrite"
        case let .unsupported(option, reason):
            return "\(option) cannot be used with --distributed: \(reason)"
        }
    }
}
