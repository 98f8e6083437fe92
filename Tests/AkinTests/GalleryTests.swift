import Akin
import Foundation
import GRDB
import TestSupport
import Testing

/// The front door's Gallery, used from Swift as the README shows, on both stores (an SQLite file,
/// a PostgreSQL collection on a real server).
@Suite("Gallery")
struct GalleryTests {
    /// Four 3-d items, two labels; cosine, so stored at unit length.
    func fourItems(at path: String) throws -> Gallery {
        let gallery = try Gallery.create(at: path, dimension: 3)
        let vectors = Tensor(shape: [4, 3], values: [1, 0, 0, 0.9, 0.1, 0, 0, 1, 0, 0, 0, 2])
        let ids = try gallery.add([NewItem(path: "a", label: "x"), NewItem(path: "b", label: "x"), NewItem(path: "c", label: "y"),
                                   NewItem(path: "d", label: "y")], vectors: vectors)
        #expect(ids == [0, 1, 2, 3])
        return gallery
    }

    @Test(arguments: GalleryBackend.allCases) func searchesRanksAndAppliesTheThreshold(backend: GalleryBackend) throws {
        guard let place = try backend.place() else { return }
        defer { place.remove() }
        let gallery = try fourItems(at: place.address("g"))
        // Queries are scaled to unit length as the items are: a long vector scores as a short one.
        let result = try gallery.search([0, 0, 5], k: 2)
        #expect(result.hits.map(\.id) == [3, 0], "ties (a, b, c all at 0) go in gallery order")
        #expect(abs(result.hits[0].similarity - 1) < 1e-6 && result.hits[0].label == "y" && result.hits[0].path == "d")
        #expect(result.match && result.threshold == nil)

        // The stored threshold judges queries that bring none; a query's own threshold wins.
        try gallery.setThreshold(0.99)
        let between = try gallery.search([1, 1, 0], k: 1)
        #expect(!between.match && between.threshold == 0.99)
        #expect(try gallery.search([1, 1, 0], k: 1, threshold: 0.5).match)
        #expect(try gallery.search([1, 0, 0], k: 1).match)

        #expect(throws: GalleryError.badK(0)) { try gallery.search([1, 0, 0], k: 0) }
        // A k past the gallery's size is cut to it (an index allocates for k, so a huge one must not reach it).
        #expect(try gallery.search([1, 0, 0], k: Int.max / 2).hits.count == 4)
        // Queries are checked as added vectors are: finite, not all zero; huge components still have a direction.
        #expect(throws: GalleryError.badQuery(source: "the queries", row: 0, reason: "component 1 is nan")) { try gallery.search([1, .nan, 0], k: 1) }
        #expect(throws: GalleryError.badQuery(source: "the queries", row: 0, reason: "it is all zeros, so it has no direction to compare")) {
            try gallery.search([0, 0, 0], k: 1)
        }
        #expect(try gallery.search([0, 0, 1e25], k: 1).hits[0].path == "d")
        #expect(throws: GalleryStoreError.self) { try gallery.search([1, 0], k: 1) }
        #expect(throws: GalleryError.countMismatch(items: 1, vectors: 2)) {
            try gallery.add([NewItem(path: "e", label: "z")], vectors: Tensor(shape: [2, 3]))
        }
        // Checked before any row is read, with or without skipping existing paths.
        #expect(throws: GalleryError.countMismatch(items: 3, vectors: 1)) {
            try gallery.add((0..<3).map { NewItem(path: "new\($0)", label: "z") }, vectors: Tensor(shape: [1, 3]), skippingExistingPaths: true)
        }
    }

    @Test(arguments: GalleryBackend.allCases) func theIndexIsBuiltThenCaughtUpWithAddsAndRemoves(backend: GalleryBackend) throws {
        guard let place = try backend.place() else { return }
        defer { place.remove() }
        let gallery = try fourItems(at: place.address("g"))
        #expect(try gallery.loadIndex() == IndexUse(kind: nil, outcome: .loaded))
        #expect(try gallery.indexFreshness() == .none)
        let build = try gallery.buildIndex(IndexSettings(kind: .hnsw))
        if place.isPostgres {
            // pgvector's index is in the database, not in a file.
            #expect(build.items == 4 && build.fileBytes == 0)
        } else {
            #expect(build.items == 4 && build.fileBytes > 0 && FileManager.default.fileExists(atPath: gallery.indexPath))
        }
        #expect(try gallery.loadIndex() == IndexUse(kind: .hnsw, outcome: .loaded))
        #expect(try gallery.indexFreshness() == .upToDate(.hnsw))

        // Another process (here another Gallery on the same gallery) changes it: the next open of
        // the index catches it up instead of rebuilding it (pgvector's is always up to date).
        let other = try Gallery.open(place.address("g"))
        let extra = Tensor(shape: [1, 3], values: [0, -1, 0])
        let added = try other.add([NewItem(path: "e", label: "z")], vectors: extra)
        #expect(try other.remove(ids: [0]) == 1)
        let reopened = try Gallery.open(place.address("g"))
        #expect(try reopened.loadIndex().outcome == (place.isPostgres ? .loaded : .caughtUp(added: 1, removed: 1)))
        let hit = try reopened.search([0, -3, 0], k: 1).hits[0]
        #expect(hit.id == added[0] && hit.label == "z")
        let exact = try reopened.search([1, 0.5, 0.2], k: 3, exact: true).hits.map(\.id)
        let indexed = try reopened.search([1, 0.5, 0.2], k: 3).hits.map(\.id)
        #expect(!exact.contains(0) && exact == indexed)
    }

    @Test(arguments: GalleryBackend.allCases) func calibrationPicksTheThresholdAndLeavesItToTheCaller(backend: GalleryBackend) throws {
        guard let place = try backend.place() else { return }
        defer { place.remove() }
        let gallery = try fourItems(at: place.address("g"))
        // Near x (right), near y (right), and a query of a class the gallery does not hold, far from everything.
        let queries = Tensor(shape: [3, 3], values: [1, 0.05, 0, 0, 0.05, 1, -1, -1, 0])
        let calibration = try gallery.calibrate(vectors: queries, labels: ["x", "y", "w"], goal: .precision(1))
        #expect(calibration.queries == 3 && calibration.unseen == 1)
        let chosen = try #require(calibration.chosen)
        #expect(chosen.precision == 1 && chosen.threshold > 0 && chosen.threshold < 0.999, "above the stranger's best (0), at most the right answers' (0.9988)")
        #expect(try gallery.threshold == nil)
    }

    /// A gallery made for a model holds that model's vectors: vectors from elsewhere need saying so.
    @Test(arguments: GalleryBackend.allCases) func aModelsGalleryRefusesVectorsFromElsewhere(backend: GalleryBackend) throws {
        guard let place = try backend.place() else { return }
        defer { place.remove() }
        let gallery = Gallery(store: try GalleryAddress(place.address("m")).create(dimension: 2, modelFingerprint: "model-1234"))
        let items = [NewItem(path: "a", label: "x")], vector = Tensor(shape: [1, 2], values: [1, 0])
        #expect(throws: GalleryError.foreignVectors(path: gallery.path, model: "model-1234")) { try gallery.add(items, vectors: vector) }
        #expect(try gallery.add(items, vectors: vector, allowingVectorsFromElsewhere: true) == [0])
    }

    /// Another process's write lock: an add waits `lockTimeout`, then stops with a message that
    /// says which ids are in (the transactions before the lock) and how to finish; run again with
    /// `skippingExistingPaths`, it adds the rest and nothing twice.
    @Test(arguments: GalleryBackend.allCases) func anAddStoppedByAnotherWriterSaysWhatIsCommittedAndResumes(backend: GalleryBackend) throws {
        guard let place = try backend.place() else { return }
        defer { place.remove() }
        let path = place.address("g")
        try Gallery.create(at: path, dimension: 2).close()
        let gallery = try Gallery.open(path, lockTimeout: 0.3)
        let items = (0..<6).map { NewItem(path: "item\($0)", label: "x") }
        let vectors = Tensor(shape: [6, 2], values: (0..<12).map { Float($0 + 1) })
        // The other writer takes the write lock once the first transaction is in: for SQLite a
        // second connection to the file; for PostgreSQL a psql session that locks the collection's row.
        let other = try OtherWriter(place: place, gallery: path)
        defer { other.release() }
        let started = Date()
        #expect {
            try gallery.add(items, vectors: vectors, transactionSize: 2) { ids in
                if ids == [0, 1] { other.lock() }
            }
        } throws: { error in
            guard case let GalleryError.interrupted(committed, reason) = error else { return false }
            let message = "\(error)"
            return committed == [0, 1] && reason.contains("being written by another process") && reason.contains("0.3 s")
                && message.contains("ids 0…1") && message.contains("--skip-existing")
        }
        #expect(Date().timeIntervalSince(started) >= 0.25, "the add waited for the lock before giving up")
        #expect(try gallery.count == 2)

        other.release()
        #expect(try gallery.add(items, vectors: vectors, transactionSize: 2, skippingExistingPaths: true) == [2, 3, 4, 5])
        #expect(try gallery.count == 6)
        #expect(try gallery.search([1, 2], k: 1).hits.first?.path == "item0")
    }

    /// A gallery kept open (a server's, a long-running program's) searches what is committed now:
    /// its own adds, and another writer's adds and removes, without reopening; with and without an index.
    @Test(arguments: GalleryBackend.allCases) func anOpenGallerySeesEveryCommittedChange(backend: GalleryBackend) throws {
        guard let place = try backend.place() else { return }
        defer { place.remove() }
        let gallery = try fourItems(at: place.address("g"))
        for exact in [true, false] {
            if !exact { try gallery.buildIndex(IndexSettings(kind: .hnsw)) }
            #expect(try gallery.search([0, -1, 0], k: 1, exact: exact).hits[0].similarity < 0.5, "nothing near (0, -1, 0) yet")

            let own = try gallery.add([NewItem(path: "own\(exact)", label: "z")], vectors: Tensor(shape: [1, 3], values: [0.1, -1, 0]))
            #expect(try gallery.search([0.1, -1, 0], k: 1, exact: exact).hits[0].id == own[0], "its own add, exact: \(exact)")

            let other = try Gallery.open(place.address("g"))
            let theirs = try other.add([NewItem(path: "theirs\(exact)", label: "z")], vectors: Tensor(shape: [1, 3], values: [-0.1, -1, 0]))
            #expect(try gallery.search([-0.1, -1, 0], k: 1, exact: exact).hits[0].id == theirs[0], "another writer's add, exact: \(exact)")
            #expect(try other.remove(ids: own + theirs) == 2)
            let after = try gallery.search([0, -1, 0], k: 6, exact: exact).hits.map(\.id)
            #expect(!after.contains(own[0]) && !after.contains(theirs[0]), "removed items are not returned, exact: \(exact)")
            try other.close()
        }
    }
}

/// Another process's write lock on a gallery, taken and let go on demand.
final class OtherWriter {
    private let file: DatabaseQueue?
    private let psql: (path: String, server: String, collection: String)?
    private var session: Process?

    init(place: GalleryPlace, gallery: String) throws {
        if let server = place.server {
            file = nil
            psql = (PostgresTestServers.psql(group: "store"), server, String(gallery.split(separator: "=").last!))
        } else {
            var configuration = Configuration()
            configuration.allowsUnsafeTransactions = true  // its lock outlives one access, as another process's would
            file = try DatabaseQueue(path: gallery, configuration: configuration)
            psql = nil
        }
    }

    func lock() {
        if let file { try? file.writeWithoutTransaction { try $0.execute(sql: "BEGIN EXCLUSIVE TRANSACTION") } }
        if let psql {
            // A session that locks the collection's row and holds it until it is stopped.
            let process = Process()
            process.executableURL = URL(fileURLWithPath: psql.path)
            process.arguments = [psql.server, "-v", "ON_ERROR_STOP=1", "-c", "BEGIN",
                                 "-c", "SELECT 1 FROM akin.galleries WHERE name = '\(psql.collection)' FOR UPDATE",
                                 "-c", "SELECT pg_sleep(30)"]
            process.standardOutput = FileHandle.nullDevice
            try? process.run()
            session = process
            // Until the lock is held: the session shows in pg_locks as a row lock of akin.galleries.
            var tries = 0
            while !held(), tries < 100 { tries += 1; Thread.sleep(forTimeInterval: 0.05) }
        }
    }

    private func held() -> Bool {
        guard let psql else { return false }
        let check = Process()
        check.executableURL = URL(fileURLWithPath: psql.path)
        check.arguments = [psql.server, "-tA", "-c", "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'"]
        let out = Pipe()
        check.standardOutput = out
        guard (try? check.run()) != nil else { return false }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        return text.trimmingCharacters(in: .whitespacesAndNewlines) != "0"
    }

    func release() {
        if let file {
            try? file.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }
            try? file.close()
        }
        if let session, let psql {
            // The server would finish the sleep before it noticed psql gone: end the session there.
            let end = Process()
            end.executableURL = URL(fileURLWithPath: psql.path)
            end.arguments = [psql.server, "-tA", "-c", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%'"]
            end.standardOutput = FileHandle.nullDevice
            if (try? end.run()) != nil { end.waitUntilExit() }
            session.waitUntilExit()
        }
        session = nil
    }
}
