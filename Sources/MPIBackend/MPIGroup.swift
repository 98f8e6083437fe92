import CMPI
import Foundation
import Similarity

/// The processes `mpirun` started, as one ``DataParallelGroup`` over Open MPI's `MPI_COMM_WORLD`.
///
/// ```swift
/// let group = try MPIGroup.join()      // every process, first thing
/// trainer.group = group
/// _ = try trainer.run()
/// group.finish()                      // every process, once training has succeeded
/// ```
///
/// MPI errors come back as ``DataParallelError/communication(operation:message:)`` instead of
/// aborting inside MPI, so a dead peer is reported in words. Open MPI's `mpirun` also ends every
/// process of the job when one exits abnormally, so a lost process never leaves the others waiting.
public final class MPIGroup: DataParallelGroup, Sendable {
    public let rank: Int
    public let size: Int
    /// Processes of the job on this machine: the cores are theirs to share.
    public let localSize: Int

    /// Whether `mpirun` (Open MPI's, or any launcher that sets its variables) started this process.
    public static var isLaunchedByMPI: Bool {
        ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil
    }

    /// Throws ``DataParallelError/launchedWithoutDistributed(processes:)`` in a process that
    /// `mpirun` started beside others: a run that is not data-parallel must not be one of several.
    public static func requireAlone() throws(DataParallelError) {
        let processes = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init) ?? 1
        if processes > 1 { throw .launchedWithoutDistributed(processes: processes) }
    }

    /// Initialises MPI (once per process: later calls return the same group) and joins the job.
    /// Throws ``DataParallelError/notLaunchedByMPI`` outside `mpirun`, where MPI would quietly make
    /// a job of one process and `--distributed` would mean nothing.
    public static func join() throws(DataParallelError) -> MPIGroup { try joined.get() }

    private static let joined: Result<MPIGroup, DataParallelError> = {
        guard isLaunchedByMPI else { return .failure(.notLaunchedByMPI) }
        // Serialized: the trainer calls MPI from one thread at a time, though not always the same one.
        var provided: Int32 = 0
        var status = MPI_Init_thread(nil, nil, akin_mpi_thread_serialized(), &provided)
        guard status == MPI_SUCCESS else { return .failure(.communication(operation: "MPI_Init_thread", message: MPIGroup.message(status))) }
        status = MPI_Comm_set_errhandler(akin_mpi_comm_world(), akin_mpi_errors_return())
        guard status == MPI_SUCCESS else { return .failure(.communication(operation: "MPI_Comm_set_errhandler", message: MPIGroup.message(status))) }
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(akin_mpi_comm_world(), &rank)
        MPI_Comm_size(akin_mpi_comm_world(), &size)
        let local = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? Int(size)
        return .success(MPIGroup(rank: Int(rank), size: Int(size), localSize: max(1, local)))
    }()

    private init(rank: Int, size: Int, localSize: Int) {
        self.rank = rank
        self.size = size
        self.localSize = localSize
    }

    public func sum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(DataParallelError) {
        // MPI counts are 32-bit: a buffer past 2³¹ floats goes in pieces.
        var start = 0
        while start < buffer.count {
            let count = min(buffer.count - start, Int(Int32.max))
            let status = MPI_Allreduce(akin_mpi_in_place(), buffer.baseAddress! + start, Int32(count), akin_mpi_float(), akin_mpi_sum(), akin_mpi_comm_world())
            guard status == MPI_SUCCESS else { throw .communication(operation: "summing the gradients (MPI_Allreduce)", message: Self.message(status)) }
            start += count
        }
    }

    public func gather(_ local: UnsafeBufferPointer<Float>, into global: UnsafeMutableBufferPointer<Float>,
                       counts: [Int], offsets: [Int]) throws(DataParallelError) {
        guard let last = counts.indices.last, offsets[last] + counts[last] <= Int(Int32.max) else {
            throw .communication(operation: "gathering the embeddings", message: "a batch of more than 2³¹ floats")
        }
        let counts = counts.map { Int32($0) }, offsets = offsets.map { Int32($0) }
        let status = MPI_Allgatherv(local.baseAddress, Int32(local.count), akin_mpi_float(), global.baseAddress, counts, offsets,
                                    akin_mpi_float(), akin_mpi_comm_world())
        guard status == MPI_SUCCESS else { throw .communication(operation: "gathering the embeddings (MPI_Allgatherv)", message: Self.message(status)) }
    }

    /// Ends this process's part in the job (`MPI_Finalize`). Call it once training has succeeded on
    /// every process: it waits for the others, so a failing process exits without it.
    public func finish() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    private static func message(_ status: Int32) -> String {
        var text = [CChar](repeating: 0, count: Int(akin_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(status, &text, &length) == MPI_SUCCESS else { return "MPI error \(status)" }
        return String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
