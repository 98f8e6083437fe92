import AkinServer
import Foundation
import Search
import Tensors
import TestSupport
import Testing

/// `akin serve` over HTTP with collections of vectors: every endpoint family, their answers
/// checked against brute force, and their errors.
@Suite("akin serve: vectors, items, errors", .serialized)
struct ServeVectorTests {
    static let json = "application/json"

    /// 240 random 16-d vectors labelled class0…class5 in a new collection `v`.
    func vectorCollection(_ server: ServerProcess) throws -> [[Float]] {
        let created = try HTTP.json("PUT", server.base + "/v1/collections/v", ["dimension": 16])
        #expect(created.status == 201, "\(created.text)")
        let matrix = randomMatrix(240, 16, seed: 5)
        let vectors = (0..<240).map { i in (0..<16).map { matrix[i * 16 + $0] } }
        let items: [[String: Any]] = vectors.enumerated().map { i, v in ["vector": v, "label": "class\(i % 6)", "payload": ["sku": i]] }
        let added = try HTTP.json("PUT", server.base + "/v1/collections/v/items", ["items": items])
        #expect(added.status == 201, "\(added.text)")
        #expect((added.json["ids"] as? [Int]) == Array(0..<240))
        return vectors
    }

    /// Every id by cosine similarity to `query`, best first, with `keep` deciding which count.
    func exactOrder(_ vectors: [[Float]], _ query: [Float], keep: (Int) -> Bool = { _ in true }) -> [Int] {
        cosineRanking(vectors, query).filter(keep)
    }

    func ids(_ answer: HTTPAnswer) -> [Int] { ((answer.json["hits"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? Int } }

    @Test func searchesMatchBruteForceWithFiltersGroupingPagingAndThresholds() throws {
        let dir = try temporaryFolder()
        let server = try ServerProcess(dir: dir)
        defer { server.stop() }
        let vectors = try vectorCollection(server)
        let search = server.base + "/v1/collections/v/search"
        let query = vectors[7].enumerated().map { $1 + ($0 % 2 == 0 ? 0.05 : -0.05) }

        let plain = try HTTP.json("POST", search, ["vector": query, "k": 10])
        #expect(plain.status == 200, "\(plain.text)")
        #expect(ids(plain) == Array(exactOrder(vectors, query).prefix(10)))
        #expect(plain.json["match"] as? Bool == true)
        let first = (plain.json["hits"] as! [[String: Any]])[0]
        #expect((first["payload"] as? [String: Any])?["sku"] as? Int == ids(plain)[0])

        // Paging: offset 10 continues where the first page ended.
        let second = try HTTP.json("POST", search, ["vector": query, "k": 10, "offset": 10])
        #expect(ids(second) == Array(exactOrder(vectors, query)[10..<20]))

        // By stored id: the item itself is left out.
        let byID = try HTTP.json("POST", search, ["id": 7, "k": 5])
        #expect(ids(byID) == Array(exactOrder(vectors, vectors[7]).filter { $0 != 7 }.prefix(5)))

        // Filters: only some labels, or all but some.
        let only = try HTTP.json("POST", search, ["vector": query, "k": 8, "filter": ["label": ["in": ["class2", "class3"]]]])
        #expect(ids(only) == Array(exactOrder(vectors, query) { [2, 3].contains($0 % 6) }.prefix(8)))
        let notIn = try HTTP.json("POST", search, ["vector": query, "k": 8, "filter": ["label": ["not_in": ["class1"]]]])
        #expect(ids(notIn) == Array(exactOrder(vectors, query) { $0 % 6 != 1 }.prefix(8)))

        // Grouping: the best hit of each label, so six labels give six hits.
        let grouped = try HTTP.json("POST", search, ["vector": query, "k": 10, "group_by_label": true])
        var seen = Set<Int>(), expected: [Int] = []
        for id in exactOrder(vectors, query) where seen.insert(id % 6).inserted { expected.append(id) }
        #expect(ids(grouped) == expected)

        // A similarity floor leaves hits out; a threshold judges match.
        let floor = try HTTP.json("POST", search, ["vector": query, "k": 50, "score_threshold": 0.5])
        #expect(((floor.json["hits"] as? [[String: Any]]) ?? []).allSatisfy { ($0["similarity"] as! Double) >= 0.5 })
        let strict = try HTTP.json("POST", search, ["vector": query, "k": 3, "threshold": 1.5])
        #expect(strict.json["match"] as? Bool == false && ids(strict).count == 3)

        // Several queries at once answer as a list, in order.
        let many = try HTTP.json("POST", search, ["queries": [["vector": query], ["id": 7]], "k": 5])
        let results = many.json["results"] as? [[String: Any]] ?? []
        #expect(results.count == 2)
        #expect(results.first.map { ($0["hits"] as! [[String: Any]]).map { $0["id"] as! Int } } == Array(exactOrder(vectors, query).prefix(5)))

        // An HNSW index built by the CLI while the server runs is used, caught up with adds, and takes ef.
        let built = try CLI.run(["index", "build", "--gallery", dir + "/v.akin", "--kind", "hnsw"])
        #expect(built.status == 0, "\(built.errors)")
        let hnsw = try HTTP.json("POST", search, ["vector": query, "k": 10, "ef": 200])
        #expect(ids(hnsw) == Array(exactOrder(vectors, query).prefix(10)))
        let newVector = query.map { $0 * 2 }
        let added = try HTTP.json("PUT", server.base + "/v1/collections/v/items", ["items": [["vector": newVector, "label": "new"]]])
        #expect(added.json["ids"] as? [Int] == [240])
        let afterAdd = try HTTP.json("POST", search, ["vector": query, "k": 1])
        #expect(ids(afterAdd) == [240], "an added item is searchable at once")
        let info = try HTTP.get(server.base + "/v1/collections/v").json
        #expect((info["index"] as? [String: Any])?["kind"] as? String == "hnsw")
        #expect(info["items"] as? Int == 241)
        let probeOnHNSW = try HTTP.json("POST", search, ["vector": query, "probe": 4])
        #expect(probeOnHNSW.status == 409 && probeOnHNSW.text.contains("IVF-PQ"))
        let exact = try HTTP.json("POST", search, ["vector": query, "k": 10, "exact": true])
        #expect(ids(exact) == [240] + Array(exactOrder(vectors, query).prefix(9)))
    }

    @Test func itemsArePagedReadRemovedAndSnapshotted() throws {
        let dir = try temporaryFolder()
        let server = try ServerProcess(dir: dir)
        defer { server.stop() }
        let vectors = try vectorCollection(server)
        let items = server.base + "/v1/collections/v/items"

        var cursor = -1, paged: [Int] = []
        while true {
            let page = try HTTP.get(items + "?limit=50&cursor=\(cursor)&label=class1,class2")
            #expect(page.status == 200, "\(page.text)")
            paged += (page.json["items"] as? [[String: Any]] ?? []).map { $0["id"] as! Int }
            guard let next = page.json["next_cursor"] as? Int else { break }
            cursor = next
        }
        #expect(paged == (0..<240).filter { [1, 2].contains($0 % 6) })

        let one = try HTTP.get(items + "/9?with_vector=true")
        #expect(one.json["label"] as? String == "class3")
        let stored = (one.json["vector"] as? [Double] ?? []).map(Float.init)
        let norm = vectors[9].reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(zip(stored, vectors[9]).allSatisfy { abs($0 - $1 / norm) < 1e-6 }, "a cosine collection keeps unit vectors")

        #expect(try HTTP.send("DELETE", items + "/9").json["removed"] as? Int == 1)
        #expect(try HTTP.get(items + "/9").status == 404)
        #expect(try HTTP.send("DELETE", items + "/9").status == 404)
        let byLabel = try HTTP.json("POST", items + "/delete", ["filter": ["label": ["in": ["class0"]]]])
        #expect(byLabel.json["removed"] as? Int == 40)
        let byIDs = try HTTP.json("POST", items + "/delete", ["ids": [1, 2, 9999]])
        #expect(byIDs.json["removed"] as? Int == 2)
        #expect(try HTTP.get(server.base + "/v1/collections/v").json["items"] as? Int == 240 - 1 - 40 - 2)

        let snapshot = try HTTP.send("POST", server.base + "/v1/collections/v/snapshot")
        #expect(snapshot.status == 201, "\(snapshot.text)")
        let copy = dir + "/" + (snapshot.json["snapshot"] as? String ?? "")
        let gallery = try SQLiteGalleryStore.open(copy, readOnly: true)
        #expect(try gallery.count == 197)
        #expect(try gallery.integrityCheck() == "ok")
        try gallery.close()

        #expect(try HTTP.send("DELETE", server.base + "/v1/collections/v").status == 200)
        #expect(try HTTP.get(server.base + "/v1/collections/v").status == 404)
        #expect(!FileManager.default.fileExists(atPath: dir + "/v.akin"))
    }

    @Test func badRequestsGetClearFourHundreds() throws {
        let dir = try temporaryFolder()
        let server = try ServerProcess(dir: dir, ["--max-upload-bytes", "20000", "--max-batch", "8"])
        defer { server.stop() }
        _ = try vectorCollectionSmall(server)
        let search = server.base + "/v1/collections/v/search"
        func expectError(_ answer: HTTPAnswer, _ status: Int, _ code: String, _ words: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(answer.status == status, "\(answer.text)", sourceLocation: sourceLocation)
            #expect(answer.errorCode == code, "\(answer.text)", sourceLocation: sourceLocation)
            #expect(answer.json["detail"].map { "\($0)".contains(words) } == true, "\(answer.text)", sourceLocation: sourceLocation)
            #expect(!answer.text.contains(dir), "no server path in an answer", sourceLocation: sourceLocation)
        }
        let v = [Float](repeating: 0.5, count: 16)
        expectError(try HTTP.get(server.base + "/v1/collections/nope"), 404, "not_found", "GET /v1/collections")
        expectError(try HTTP.get(server.base + "/v1/collections/a.b"), 422, "invalid", "collection name")
        expectError(try HTTP.get(server.base + "/v1/nothing"), 404, "not_found", "openapi")
        expectError(try HTTP.send("POST", search, body: Data("{\"vector\": [1, 2".utf8), contentType: Self.json), 400, "bad_request", "JSON")
        expectError(try HTTP.json("POST", search, ["vector": v, "k": 3, "fliter": [:]]), 400, "bad_request", "fliter")
        expectError(try HTTP.json("POST", search, ["vector": "up"]), 400, "bad_request", "vector")
        expectError(try HTTP.send("POST", search, body: Data("{}".utf8), contentType: "text/plain"), 415, "unsupported_media_type", "application/json")
        expectError(try HTTP.json("POST", search, ["vector": [1, 2, 3]]), 422, "invalid", "16")
        expectError(try HTTP.json("POST", search, ["vector": v, "k": 0]), 422, "invalid", "k must be")
        expectError(try HTTP.json("POST", search, ["vector": v, "k": 1_000_000]), 422, "invalid", "k must be")
        expectError(try HTTP.json("POST", search, ["vector": [Float](repeating: 0, count: 16)]), 422, "invalid", "all zeros")
        expectError(try HTTP.json("POST", search, ["vector": v, "ef": 10]), 409, "conflict", "HNSW")
        expectError(try HTTP.send("POST", search, body: Data(("{\"vector\": [1e39" + String(repeating: ", 1", count: 15) + "]}").utf8), contentType: Self.json),
                    422, "invalid", "float32")
        expectError(try HTTP.send("PATCH", search, body: Data("{}".utf8), contentType: Self.json), 405, "method_not_allowed", "takes POST")
        expectError(try HTTP.get(server.base + "/v1/collections/v/items?cursor=-5"), 422, "invalid", "cursor")
        expectError(try HTTP.json("POST", search, ["vector": v, "id": 3]), 422, "invalid", "not both")
        expectError(try HTTP.json("POST", search, ["id": 100_000]), 404, "not_found", "no item")
        expectError(try HTTP.json("POST", search, ["queries": Array(repeating: ["vector": v], count: 9)]), 422, "invalid", "1…8")
        expectError(try HTTP.json("POST", search, ["vector": [Float](repeating: 0.25, count: 4000)]), 413, "too_large", "max-upload-bytes")
        expectError(try HTTP.json("PUT", server.base + "/v1/collections/v/items", ["items": [["vector": v, "image_base64": "AAAA"]]]),
                    422, "invalid", "either vector or image_base64")
        expectError(try HTTP.json("PUT", server.base + "/v1/collections/v/items", ["items": [["image_base64": "AAAA"]]]),
                    409, "conflict", "vectors from elsewhere")
        expectError(try HTTP.json("PUT", server.base + "/v1/collections/v", ["dimension": 4]), 409, "conflict", "exists")
        expectError(try HTTP.json("PUT", server.base + "/v1/collections/w", ["dimension": 4, "model": "m"]), 422, "invalid", "not both")
        expectError(try HTTP.json("PUT", server.base + "/v1/collections/w", ["dimension": 0]), 422, "invalid", "dimension")
        expectError(try HTTP.send("POST", server.base + "/v1/collections/v/search/image", body: Data([1, 2, 3]), contentType: "image/png"),
                    409, "conflict", "vectors from elsewhere")
        expectError(try HTTP.get(server.base + "/v1/collections/v/items?limit=5&colour=red"), 422, "invalid", "colour")
        expectError(try HTTP.get(server.base + "/v1/collections/v/items/abc"), 422, "invalid", "item id")
        expectError(try HTTP.get(server.base + "/v1/collections/v/items/3/image"), 404, "not_found", "not added as an image")
        // A body with no content type (what a web page can send without asking first) is refused.
        let bare = "{\"vector\": [1]}"
        #expect(ServeMalformedTests.raw(server.port, Array("POST /v1/collections/v/search HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\nContent-Length: \(bare.utf8.count)\r\n\r\n\(bare)".utf8)) == 415)
        expectError(try HTTP.json("POST", server.base + "/v1/collections/v/items/delete", ["filter": ["label": [:]]]), 422, "invalid", "in or not_in")
        // A keyless server answers loopback names only, and no other site's page.
        expectError(try HTTP.get(server.base + "/v1/collections", headers: ["Origin": "http://evil.example"]), 403, "forbidden", "evil.example")
        #expect(try HTTP.get(server.base + "/v1/collections", headers: ["Origin": "http://localhost:\(server.port)"]).status == 200)
        #expect(ServeMalformedTests.raw(server.port, Array("GET /v1/collections HTTP/1.1\r\nHost: rebound.example:\(server.port)\r\n\r\n".utf8)) == 403)
        #expect(ServeMalformedTests.raw(server.port, Array("GET /v1/collections HTTP/1.1\r\nHost: localhost:\(server.port)\r\n\r\n".utf8)) == 200)
        #expect(try HTTP.get(server.base + "/healthz").status == 200, "the server is still up")
    }

    func vectorCollectionSmall(_ server: ServerProcess) throws -> HTTPAnswer {
        _ = try HTTP.json("PUT", server.base + "/v1/collections/v", ["dimension": 16])
        let items = (0..<8).map { i in ["vector": (0..<16).map { Float(($0 + i) % 5) + 0.5 }, "label": "l\(i % 2)"] as [String: Any] }
        return try HTTP.json("PUT", server.base + "/v1/collections/v/items", ["items": items])
    }

    @Test func keysAreRequiredAndExposureRefused() throws {
        let dir = try temporaryFolder()
        let exposed = try CLI.run(["serve", "--dir", dir, "--host", "0.0.0.0", "--port", "0"])
        #expect(exposed.status == 78, "\(exposed.errors)")
        #expect(exposed.errors.contains("--api-keys"))
        try "# keys\r\nread reader-key-0123456789\r\nadmin admin-key-0123456789\r\n".write(toFile: dir + "/keys", atomically: true, encoding: .utf8)
        try "admin short\n".write(toFile: dir + "/bad-keys", atomically: true, encoding: .utf8)
        let badKeys = try CLI.run(["serve", "--dir", dir, "--api-keys", dir + "/bad-keys", "--port", "0"])
        #expect(badKeys.status == 78 && badKeys.errors.contains("16"), "\(badKeys.errors)")

        let server = try ServerProcess(dir: dir, ["--api-keys", dir + "/keys"])
        defer { server.stop() }
        let read = ["Authorization": "Bearer reader-key-0123456789"], admin = ["Authorization": "Bearer admin-key-0123456789"]
        #expect(try HTTP.get(server.base + "/healthz").status == 200)
        #expect(try HTTP.get(server.base + "/openapi.yaml").status == 200)
        let anonymous = try HTTP.get(server.base + "/v1/collections")
        #expect(anonymous.status == 401 && anonymous.headers["www-authenticate"] == "Bearer")
        #expect(try HTTP.get(server.base + "/v1/collections", headers: ["Authorization": "Bearer reader-key-012345678X"]).status == 401)
        #expect(try HTTP.get(server.base + "/v1/collections", headers: read).status == 200)
        #expect(try HTTP.get(server.base + "/metrics").status == 401)
        let forbidden = try HTTP.json("PUT", server.base + "/v1/collections/v", ["dimension": 4], headers: read)
        #expect(forbidden.status == 403 && forbidden.errorCode == "forbidden")
        #expect(try HTTP.json("PUT", server.base + "/v1/collections/v", ["dimension": 4], headers: admin).status == 201)
    }

    @Test func routesAreExactlyThoseTheOpenAPIDocumentDescribes() throws {
        let dir = try temporaryFolder()
        let server = try ServerProcess(dir: dir)
        defer { server.stop() }
        let document = try HTTP.get(server.base + "/openapi.yaml")
        #expect(document.status == 200 && document.headers["content-type"] == "application/yaml")
        var described = Set<String>(), path = ""
        for line in document.text.split(separator: "\n") {
            if line.hasPrefix("  /"), line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()) }
            else if line.hasPrefix("components:") { path = "" }
            else if !path.isEmpty, let method = ["get", "put", "post", "delete"].first(where: { line == "    \($0):" }) {
                described.insert(method.uppercased() + " " + path)
            }
        }
        let served = Set(SimilarityServer.routes.map { "\($0.method) \($0.path)" })
        #expect(described == served, "described only: \(described.subtracting(served)); served only: \(served.subtracting(described))")
        // Parsed by a YAML parser too, when the test environment has one.
        if let python = ReferencePython.path(importing: ["yaml"]) {
            try document.body.write(to: URL(fileURLWithPath: dir + "/openapi.yaml"))
            let parsed = try ReferencePython.run(python, ["-c", "import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); print(d['openapi'], len(d['paths']))", dir + "/openapi.yaml"])
            #expect(parsed.status == 0, "\(parsed.errors)")
        }
    }
}
