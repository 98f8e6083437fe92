import AkinServer
import Foundation
import Images
import Search
import Tensors
import TestSupport
import Testing

/// `akin serve` with a model: image search agrees with `akin search`, images are embedded in
/// batches, stored, durable across kill -9, and the server shuts down gracefully under load.
@Suite("akin serve: images, durability, load", .serialized)
struct ServeImageTests {
    /// A folder served with a trained model in `models/` and a gallery `shop` of `data/`, threshold 0.5.
    static let prepared: Result<(dir: String, data: String), any Error> = Result {
        let root = try temporaryFolder(), dir = root + "/served"
        try makeDataset(at: root + "/data", perClass: 12, seed: 3)
        try FileManager.default.createDirectory(atPath: dir + "/models", withIntermediateDirectories: true)
        let train = try CLI.run(["train", root + "/data", "--out", dir + "/models/m.safetensors"] + smallTraining)
        guard train.status == 0 else { throw ServerTestError.didNotStart(train.errors) }
        let embed = try CLI.run(["embed", "--model", dir + "/models/m.safetensors", "--out", dir + "/shop.akin", root + "/data"])
        guard embed.status == 0 else { throw ServerTestError.didNotStart(embed.errors) }
        let store = try SQLiteGalleryStore.open(dir + "/shop.akin")
        try store.setThreshold(0.5)
        try store.close()
        return (dir, root + "/data")
    }

    func served() throws -> (dir: String, data: String) {
        let (dir, data) = try Self.prepared.get()
        // Each test gets its own copy, so what one adds another does not see.
        let copy = try temporaryFolder() + "/served"
        try FileManager.default.copyItem(atPath: dir, toPath: copy)
        return (copy, data)
    }

    func png(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    @Test func imageSearchAgreesWithTheCommandLine() throws {
        let (dir, data) = try served()
        let server = try ServerProcess(dir: dir)
        defer { server.stop() }
        try server.waitUntilReady()
        let models = try HTTP.get(server.base + "/v1/models").json["models"] as? [[String: Any]]
        #expect(models?.first?["name"] as? String == "m" && models?.first?["dimension"] as? Int == 8)
        let info = try HTTP.get(server.base + "/v1/collections/shop").json
        #expect(info["model"] as? String == "m" && info["threshold"] as? Double == 0.5 && info["items"] as? Int == 36)

        for query in [data + "/bar/3.png", data + "/diagonal/5.png"] {
            let answer = try HTTP.send("POST", server.base + "/v1/collections/shop/search/image?k=5", body: try png(query), contentType: "image/png")
            #expect(answer.status == 200, "\(answer.text)")
            let cli = try CLI.run(["search", "--model", dir + "/models/m.safetensors", "--gallery", dir + "/shop.akin", "-k", "5", "--json", query])
            let expected = try json(cli.output)[0]
            let hits = answer.json["hits"] as? [[String: Any]] ?? []
            let cliHits = expected["results"] as? [[String: Any]] ?? []
            #expect(hits.map { $0["id"] as? Int } == cliHits.map { $0["id"] as? Int })
            #expect(zip(hits, cliHits).allSatisfy { abs(($0["similarity"] as! Double) - ($1["similarity"] as! Double)) < 1e-5 })
            #expect(answer.json["match"] as? Bool == expected["match"] as? Bool)
        }
        let filtered = try HTTP.send("POST", server.base + "/v1/collections/shop/search/image?k=3&label=column", body: try png(data + "/bar/3.png"),
                                     contentType: "image/png")
        #expect((filtered.json["hits"] as? [[String: Any]] ?? []).allSatisfy { $0["label"] as? String == "column" })

        let raw = try HTTP.send("POST", server.base + "/v1/embed?model=m", body: try png(data + "/bar/3.png"), contentType: "image/png")
        let vector = raw.json["vector"] as? [Double] ?? []
        #expect(vector.count == 8 && abs(vector.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4)
        let viaJSON = try HTTP.json("POST", server.base + "/v1/embed?model=m", ["image_base64": try png(data + "/bar/3.png").base64EncodedString()])
        #expect(viaJSON.json["vector"] as? [Double] == vector)
        #expect(try HTTP.send("POST", server.base + "/v1/embed?model=zz", body: try png(data + "/bar/3.png"), contentType: "image/png").status == 404)
        let truncated = try HTTP.send("POST", server.base + "/v1/collections/shop/search/image", body: try png(data + "/bar/3.png").prefix(40),
                                      contentType: "image/png")
        #expect(truncated.status == 422 && truncated.errorCode == "invalid", "\(truncated.text)")
        let notAnImage = try HTTP.send("POST", server.base + "/v1/collections/shop/search/image", body: Data("hello".utf8), contentType: "image/jpeg")
        #expect(notAnImage.status == 422, "\(notAnImage.text)")
    }

    @Test func addedImagesAreStoredSearchableAndSurviveKill9() throws {
        let (dir, data) = try served()
        var server = try ServerProcess(dir: dir)
        let image = try png(data + "/column/7.png")
        let added = try HTTP.send("PUT", server.base + "/v1/collections/shop/items?label=new&payload=%7B%22sku%22%3A42%7D", body: image,
                                  contentType: "image/png")
        #expect(added.status == 201, "\(added.text)")
        let id = (added.json["ids"] as? [Int])?.first ?? -1
        #expect(id == 36)
        let found = try HTTP.send("POST", server.base + "/v1/collections/shop/search/image?k=1", body: image, contentType: "image/png")
        let top = (found.json["hits"] as? [[String: Any]])?.first
        #expect(top?["id"] as? Int == id || (top?["similarity"] as? Double ?? 0) > 0.9999, "the added image is found at once")
        #expect(try HTTP.get(server.base + "/v1/collections/shop/items/\(id)/image").body == image)
        let twoMore = try HTTP.json("PUT", server.base + "/v1/collections/shop/items",
                                    ["items": [["image_base64": image.base64EncodedString(), "label": "b64"],
                                               ["image_base64": try png(data + "/bar/1.png").base64EncodedString(), "label": "b64", "payload": ["x": [1, 2]]]]])
        #expect(twoMore.json["ids"] as? [Int] == [37, 38], "\(twoMore.text)")
        let vectorsToAModel = try HTTP.json("PUT", server.base + "/v1/collections/shop/items", ["items": [["vector": [Float](repeating: 1, count: 8)]]])
        #expect(vectorsToAModel.status == 422, "vectors from elsewhere are refused in a model's collection: \(vectorsToAModel.text)")

        // Acknowledged means durable: kill -9 right after the 201, and the items are there on restart.
        #expect(server.stop(SIGKILL) == SIGKILL)
        server = try ServerProcess(dir: dir)
        defer { server.stop() }
        let item = try HTTP.get(server.base + "/v1/collections/shop/items/\(id)")
        #expect(item.json["label"] as? String == "new" && (item.json["payload"] as? [String: Any])?["sku"] as? Int == 42, "\(item.text)")
        #expect(try HTTP.get(server.base + "/v1/collections/shop/items/\(id)/image").body == image)
        #expect(try HTTP.get(server.base + "/v1/collections/shop").json["items"] as? Int == 39)
        #expect(try HTTP.send("DELETE", server.base + "/v1/collections/shop/items/\(id)").status == 200)
        let leftover = try FileManager.default.contentsOfDirectory(atPath: dir + "/shop.images")
        #expect(leftover.count == 2, "the removed item's image is deleted with it: \(leftover)")
    }

    @Test func concurrentImagesAreEmbeddedInBatchesAndLimitsHold() throws {
        let (dir, data) = try served()
        let server = try ServerProcess(dir: dir, ["--embedding-wait", "50", "--max-pixels", "10000"])
        defer { server.stop() }
        let base = server.base
        let files = (0..<16).map { "\(data)/\(["bar", "column", "diagonal"][$0 % 3])/\($0 % 12).png" }
        let answers = UncheckedResults(count: files.count)
        onThreads(files.count) { i in
            let body = try? Data(contentsOf: URL(fileURLWithPath: files[i]))
            answers.set(i, try? HTTP.send("POST", base + "/v1/collections/shop/search/image?k=3", body: body, contentType: "image/png"))
        }
        #expect(answers.values.allSatisfy { $0?.status == 200 })
        let metrics = try HTTP.get(server.base + "/metrics").text
        func value(_ name: String) -> Double? {
            metrics.split(separator: "\n").first { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
        let images = value("akin_embedding_batch_size_sum"), batches = value("akin_embedding_batch_size_count")
        #expect(images == 16, "\(metrics)")
        #expect((batches ?? 99) < 16, "images that arrive together are embedded together: \(batches ?? -1) batches")
        #expect(metrics.contains(#"akin_collection_items{collection="shop"} 36"#))
        #expect(metrics.contains(#"hb_requests{http_route="/v1/collections/{collection}/search/image",http_request_method="POST",http_response_status_code="200"} 16"#))

        // The pixel budget is checked from the header, before decoding.
        let big = try ImageEncoder.png(Image(width: 200, height: 200, channels: 1, pixels: [UInt8](repeating: 90, count: 40_000)))
        let refused = try HTTP.send("POST", server.base + "/v1/collections/shop/search/image", body: big, contentType: "image/png")
        #expect(refused.status == 422 && refused.text.contains("pixels"), "\(refused.text)")
    }

    @Test func aStopFinishesTheRequestsInFlight() throws {
        let (dir, data) = try served()
        // Each image waits 1 s for its batch: the stop comes while they are being answered.
        let server = try ServerProcess(dir: dir, ["--embedding-wait", "1000"])
        let base = server.base, image = try png(data + "/bar/2.png")
        try server.waitUntilReady()
        let answers = UncheckedResults(count: 3)
        let group = DispatchGroup()
        // A thread each: Dispatch's pool runs only as many blocked calls at once as there are cores.
        for i in 0..<3 {
            group.enter()
            Thread {
                answers.set(i, try? HTTP.send("POST", base + "/v1/collections/shop/search/image?k=2", body: image, contentType: "image/png"))
                group.leave()
            }.start()
        }
        usleep(500_000)
        let started = Date()
        #expect(server.stop() == 0, "\(server.errors)")
        #expect(Date().timeIntervalSince(started) > 0.3, "the server waited for its requests")
        group.wait()
        #expect(answers.values.allSatisfy { $0?.status == 200 && ($0?.json["hits"] as? [Any])?.count == 2 }, "\(answers.values.map { $0?.text })")
        #expect(server.remainingOutput().contains("akin serve: stopped"))
    }

    @Test func concurrentAddsAndSearches() throws {
        let (dir, _) = try served()
        let server = try ServerProcess(dir: dir)
        let base = server.base
        _ = try HTTP.json("PUT", base + "/v1/collections/vec", ["dimension": 4])
        let answers = UncheckedResults(count: 40)
        onThreads(40) { i in
            if i % 2 == 0 {
                answers.set(i, try? HTTP.json("PUT", base + "/v1/collections/vec/items",
                                              ["items": (0..<5).map { j in ["vector": [Float(i), Float(j), 1, 1], "label": "t\(i)"] as [String: Any] }]))
            } else {
                answers.set(i, try? HTTP.json("POST", base + "/v1/collections/shop/search", ["vector": [Float](repeating: 0.3, count: 8), "k": 5]))
            }
        }
        #expect(answers.values.enumerated().allSatisfy { $1?.status == ($0 % 2 == 0 ? 201 : 200) })
        #expect(try HTTP.get(server.base + "/v1/collections/vec").json["items"] as? Int == 100)

        #expect(server.stop() == 0, "\(server.errors)")
        let store = try SQLiteGalleryStore.open(dir + "/vec.akin", readOnly: true)
        #expect(try store.count == 100 && store.integrityCheck() == "ok")
    }
}

/// Answers gathered from several threads.
final class UncheckedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [HTTPAnswer?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ answer: HTTPAnswer?) { lock.withLock { slots[i] = answer } }
    var values: [HTTPAnswer?] { lock.withLock { slots } }
}

/// Runs `body(i)` for i in 0..<count, each on its own thread, and waits for all: Dispatch's pool
/// runs only as many blocking calls at once as there are cores, too few to load a server.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        Thread {
            body(i)
            group.leave()
        }.start()
    }
    group.wait()
}

/// The page at `/`, driven in headless Chromium through Selenium (scripts/check_search_page.py).
@Suite("akin serve: the page in Chromium", .serialized)
struct ServePageTests {
    static let python = ReferencePython.path(importing: ["selenium"])
    static let usable = python != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")

    @Test(.enabled(if: usable || Chromium.required,
                   "selenium (test virtualenv) or chromium-driver is missing: the page check is skipped"))
    func uploadingAnImageShowsWhatAkinSearchFinds() throws {
        #expect(Self.usable, "CI must install chromium-driver and selenium")
        guard let python = Self.python else { return }
        let (dir, data) = try ServeImageTests().served()
        let server = try ServerProcess(dir: dir)
        defer { server.stop() }
        try server.waitUntilReady()
        let image = data + "/column/4.png"
        // One stored image, so a thumbnail is fetched as well as placeholders shown.
        let stored = try HTTP.send("PUT", server.base + "/v1/collections/shop/items?label=column", body: try Data(contentsOf: URL(fileURLWithPath: image)),
                                   contentType: "image/png").json["ids"] as? [Int] ?? []
        let script = ReferencePython.repositoryFile("scripts/check_search_page.py")
        for width in [1000, 390] {
            let run = try ReferencePython.run(python, [script, server.base + "/", "shop", image, "--width", "\(width)"])
            #expect(run.status == 0, "\(run.errors)")
            guard run.status == 0 else { return }
            let page = try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as! [String: Any]
            let hits = page["hits"] as? [[String: Any]] ?? []
            let cli = try CLI.run(["search", "--model", dir + "/models/m.safetensors", "--gallery", dir + "/shop.akin", "-k", "12", "--json", image])
            let expected = try json(cli.output)[0]["results"] as? [[String: Any]] ?? []
            #expect(hits.map { $0["id"] as? Int } == expected.map { $0["id"] as? Int })
            #expect(hits.map { $0["label"] as? String } == expected.map { $0["label"] as? String })
            #expect(zip(hits, expected).allSatisfy { abs(($0["similarity"] as! Double) - ($1["similarity"] as! Double)) < 1e-5 })
            #expect(hits.filter { $0["thumbnail"] as? Bool == true }.map { $0["id"] as? Int } == stored, "only the stored image has a thumbnail: \(hits)")
            #expect((page["verdict"] as? String)?.hasPrefix("Match") == true, "\(page["verdict"] ?? "")")
            #expect((page["console"] as? [[String: Any]] ?? []).filter { $0["level"] as? String == "SEVERE" }.isEmpty, "\(page["console"] ?? [])")
            #expect((page["keyboard_unreachable"] as? [String]) == [], "\(page["keyboard_unreachable"] ?? [])")
            #expect((page["page_width"] as? Int ?? 9999) <= (page["window_width"] as? Int ?? 0), "no sideways scrolling at \(width) px")
        }
    }
}
