import Foundation

/// One process's share of a job that several processes, on one machine or many, split between
/// them: the `index`-th of `count` (`akin embed --shard I/N`, or `--shard mpi` under mpirun).
/// Shares are fixed by position in a sorted list, so every process agrees on them without talking.
public struct WorkShare: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws(WorkShareError) {
        guard count >= 1, (0..<count).contains(index) else { throw .outOfRange(index: index, count: count) }
        self.index = index
        self.count = count
    }

    /// `I/N` (0 ≤ I < N), or `mpi`: this process's rank and the job's size from Open MPI's environment.
    public init(parsing text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(WorkShareError) {
        if text == "mpi" {
            guard let share = Self.fromMPI(environment) else { throw .notUnderMPI }
            self = share
            return
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else { throw .unreadable(text) }
        try self.init(index: index, count: count)
    }

    /// The share mpirun gave this process (Open MPI's OMPI_COMM_WORLD_RANK and _SIZE), or nil outside mpirun.
    public static func fromMPI(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> WorkShare? {
        guard let rank = environment["OMPI_COMM_WORLD_RANK"].flatMap(Int.init), let size = environment["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init) else {
            return nil
        }
        return try? WorkShare(index: rank, count: size)
    }

    /// This share of `items`: every `count`-th, from the `index`-th, in order.
    public func select<T>(_ items: [T]) -> [T] {
        stride(from: index, to: items.count, by: count).map { items[$0] }
    }

    public var description: String { "\(index)/\(count)" }
}

public enum WorkShareError: Error, CustomStringConvertible, Equatable {
    case unreadable(String)
    case outOfRange(index: Int, count: Int)
    case notUnderMPI

    public var description: String {
        switch self {
        case let .unreadable(text): return "--shard \(text) is not I/N (e.g. 0/4) or mpi"
        case let .outOfRange(index, count): return "--shard \(index)/\(count): N must be positive and I from 0 to N − 1"
        case .notUnderMPI: return "--shard mpi takes the share from mpirun, and this process was not started by mpirun (no OMPI_COMM_WORLD_RANK); give --shard I/N"
        }
    }
}

extension Gallery {
    /// Embeds this process's share of the images in `paths` (folders walked, files sorted by path)
    /// with the gallery's model and adds them, in transactions of `chunk` images, leaving out paths
    /// the gallery already holds: many processes fill one gallery (a PostgreSQL one, on many
    /// machines) at once, and one that is stopped and started again goes on where it was.
    /// Returns how many were added and the files that did not decode.
    public func addShare(of paths: [String], share: WorkShare, model: EmbeddingModel, chunk: Int = 4096, batchSize: Int = 256,
                         reporter: any WorkReporter = SilentReporter()) throws -> (added: Int, skipped: [SkippedFile]) {
        try requireModel(model)
        let found = try ImageFiles.collect(paths)
        let mine = share.select(found.files.sorted { $0.path < $1.path })
        let progress = reporter.begin("embedding share \(share)", total: max(mine.count, 1), unit: "images")
        var added = 0, skipped: [SkippedFile] = [], start = 0
        while start < mine.count {
            let end = min(start + max(chunk, 1), mine.count)
            let part = Array(mine[start..<end])
            // Read before decoding, so a share run again skips the costly part; the add checks
            // again in its own transaction, for another process that added the same paths meanwhile.
            let fresh = try store.existingPaths(part.map(\.path))
            let todo = part.filter { !fresh.contains($0.path) }
            if !todo.isEmpty {
                let (images, bad) = model.loadImages(todo, classNames: found.classNames)
                skipped += bad
                if images.count > 0 {
                    let vectors = try model.embed(images, batchSize: batchSize)
                    let embedded = EmbeddedImages(vectors: vectors, paths: images.paths, labels: images.labels.map { images.classNames[Int($0)] })
                    added += try add(embedded, by: model, skippingExistingPaths: true).count
                }
            }
            start = end
            progress(end)
        }
        return (added, skipped)
    }
}
