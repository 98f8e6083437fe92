import Foundation
import Images
import Tensors
import TestSupport
import Testing

/// 1,000 malformed requests of eight kinds against a running server: every one is answered with a
/// 4xx (or, for bytes that are not HTTP at all, a 400 or a closed connection), the server stays up,
/// and its resident memory stays flat.
@Suite("akin serve: malformed requests", .serialized)
struct ServeMalformedTests {
    /// Sends `bytes` on a new connection and returns the status of the answer, nil if the server
    /// closed the connection without one.
    static func raw(_ port: Int, _ bytes: [UInt8]) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        shutdown(fd, Int32(SHUT_WR))
        var answer: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 4096)
        while answer.count < 64 {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            answer += buffer[0..<n]
        }
        let line = String(decoding: answer, as: UTF8.self)
        guard line.hasPrefix("HTTP/1.1 ") else { return nil }
        return Int(line.dropFirst(9).prefix(3))
    }

    static func rss(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    @Test func aThousandMalformedRequestsGetFourHundredsAndTheServerStaysUp() throws {
        let dir = try temporaryFolder()
        try makeDataset(at: dir + "/data", perClass: 4, seed: 9)
        let train = try CLI.run(["train", dir + "/data", "--out", dir + "/m.safetensors"] + smallTraining)
        #expect(train.status == 0, "\(train.errors)")
        try FileManager.default.createDirectory(atPath: dir + "/served", withIntermediateDirectories: true)
        let server = try ServerProcess(dir: dir + "/served", ["--model", dir + "/m.safetensors", "--max-upload-bytes", "200000"])
        defer { server.stop() }
        let base = server.base
        #expect(try HTTP.json("PUT", base + "/v1/collections/v", ["dimension": 16]).status == 201)
        #expect(try HTTP.json("PUT", base + "/v1/collections/img", ["model": "m"]).status == 201)
        let good = try Data(contentsOf: URL(fileURLWithPath: dir + "/data/bar/0.png"))
        #expect(try HTTP.send("PUT", base + "/v1/collections/img/items?label=bar", body: good, contentType: "image/png").status == 201)
        #expect(try HTTP.json("PUT", base + "/v1/collections/v/items", ["items": [["vector": [Float](repeating: 1, count: 16)]]]).status == 201)
        let jsonRoutes = [("POST", "/v1/collections/v/search"), ("PUT", "/v1/collections/v/items"), ("POST", "/v1/collections/v/items/delete"),
                          ("PUT", "/v1/collections/w"), ("POST", "/v1/embed?model=m")]
        var generator = RandomGenerator(seed: 2026)
        func bytes(_ count: Int) -> Data { Data((0..<count).map { _ in UInt8(generator.nextInt(below: 256)) }) }
        var answers: [(kind: String, status: Int?)] = []
        var rssAfterWarmUp = 0

        for i in 0..<1000 {
            if i == 100 { rssAfterWarmUp = Self.rss(server.process.processIdentifier) }
            let kind: String, status: Int?
            switch i % 8 {
            case 0:
                kind = "random bytes as JSON"
                let (method, path) = jsonRoutes[generator.nextInt(below: jsonRoutes.count)]
                status = try HTTP.send(method, base + path, body: bytes(1 + generator.nextInt(below: 2000)), contentType: "application/json").status
            case 1:
                kind = "truncated image"
                // At least the IEND chunk and the last byte of image data's CRC go: libpng refuses that.
                let cut = good.prefix(1 + generator.nextInt(below: good.count - 13))
                let path = ["/v1/collections/img/search/image", "/v1/embed?model=m", "/v1/collections/img/items"][generator.nextInt(below: 3)]
                status = try HTTP.send(path.hasSuffix("items") ? "PUT" : "POST", base + path, body: cut, contentType: "image/png").status
            case 2:
                kind = "wrong content type"
                let type = ["text/plain", "application/xml", "multipart/form-data; boundary=x", "image/gif", "application/x-www-form-urlencoded"][generator.nextInt(below: 5)]
                let (method, path) = jsonRoutes[generator.nextInt(below: jsonRoutes.count)]
                status = try HTTP.send(method, base + path, body: Data("{\"vector\":[1]}".utf8), contentType: type).status
            case 3:
                kind = "huge header"
                let value = String(repeating: "a", count: 20_000 + generator.nextInt(below: 200_000))
                status = Self.raw(server.port, Array("GET /v1/collections HTTP/1.1\r\nHost: x\r\nX-Big: \(value)\r\n\r\n".utf8))
            case 4:
                kind = "bad JSON"
                let bodies = ["{\"vector\": \"up\"}", "{\"vector\": [1, 2, ", "[" + String(repeating: "[", count: 5000), "{\"k\": 1.5, \"vector\": [1]}",
                              "{\"queries\": {}}", "{\"filter\": {\"label\": {\"in\": \"a\"}}, \"vector\": [1]}", "null", "\"text\"", "{\"items\": [{}]}",
                              "{\"vector\": [1e999]}", "{\"dimension\": -3}", "{\"k\": 99999999999999999999}"]
                let (method, path) = jsonRoutes[generator.nextInt(below: jsonRoutes.count)]
                status = try HTTP.send(method, base + path, body: Data(bodies[generator.nextInt(below: bodies.count)].utf8), contentType: "application/json").status
            case 5:
                kind = "wrong dimension"
                var length = generator.nextInt(below: 100)
                if length == 16 { length = 17 }
                let vector = (0..<length).map { _ in generator.nextFloat() }
                status = try HTTP.json(generator.nextInt(below: 2) == 0 ? "POST" : "PUT",
                                       base + (generator.nextInt(below: 2) == 0 ? "/v1/collections/v/search" : "/v1/collections/v/items"),
                                       generator.nextInt(below: 2) == 0 ? ["vector": vector] : ["items": [["vector": vector]]]).status
            case 6:
                kind = "NaN and infinities"
                let literal = ["NaN", "Infinity", "-Infinity", "nan", "1e400"][generator.nextInt(below: 5)]
                let body = "{\"vector\": [" + (0..<16).map { $0 == 3 ? literal : "0.5" }.joined(separator: ",") + "]}"
                status = try HTTP.send("POST", base + "/v1/collections/v/search", body: Data(body.utf8), contentType: "application/json").status
            default:
                kind = "not HTTP"
                var garbage = Array(bytes(1 + generator.nextInt(below: 3000)))
                if generator.nextInt(below: 2) == 0 { garbage = Array("GET /\(garbage.count) HTTP/9.9\r\n\u{1}\r\n\r\n".utf8) + garbage }
                status = Self.raw(server.port, garbage)
            }
            answers.append((kind, status))
        }

        for (kind, status) in answers {
            if kind == "not HTTP" || kind == "huge header" {
                #expect(status == nil || (400..<500).contains(status!), "\(kind): \(status.map(String.init) ?? "closed")")
            } else {
                #expect(status.map { (400..<500).contains($0) } == true, "\(kind): \(status.map(String.init) ?? "no answer")")
            }
        }
        #expect(Set(answers.map(\.kind)).count == 8, "every kind of malformed request was sent")
        #expect(try HTTP.get(base + "/healthz").status == 200)
        #expect(try HTTP.json("POST", base + "/v1/collections/v/search", ["vector": [Float](repeating: 1, count: 16), "k": 1]).status == 200)
        // Under AddressSanitizer freed memory waits in its quarantine (256 MB), so RSS says nothing there.
        if !CLI.binary.path.contains("/.build-asan/") {
            let rssAtEnd = Self.rss(server.process.processIdentifier)
            #expect(Double(rssAtEnd) < Double(rssAfterWarmUp) * 1.05 + 8192, "RSS \(rssAfterWarmUp) kB after 100 requests, \(rssAtEnd) kB after 1,000")
        }
    }
}

/// schemathesis (PyPI, in the test virtualenv) generates requests from the server's own
/// /openapi.yaml, valid and invalid, and checks every answer against it: no 5xx, statuses and bodies
/// as documented, invalid input refused, keys enforced, 405 with `Allow` for other methods.
@Suite("akin serve: fuzzed from its OpenAPI document", .serialized)
struct ServeSchemaTests {
    static let python = ReferencePython.path(importing: ["schemathesis"])

    @Test(.enabled(if: python != nil || Chromium.required, "schemathesis is not in the test virtualenv: the API fuzzing is skipped"))
    func schemathesisFindsNothing() throws {
        #expect(Self.python != nil, "CI must install schemathesis")
        guard let python = Self.python else { return }
        let (served, _) = try ServeImageTests().served()
        // The document's example collection, so generated requests reach a real one.
        try FileManager.default.moveItem(atPath: served + "/shop.akin", toPath: served + "/catalogue.akin")
        try "read reader-key-0123456789\nadmin admin-key-0123456789\n".write(toFile: served + "/keys", atomically: true, encoding: .utf8)
        let server = try ServerProcess(dir: served, ["--api-keys", served + "/keys"])
        defer { server.stop() }
        try server.waitUntilReady()
        let schemathesis = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("schemathesis").path
        setenv("AKIN_ADMIN_KEY", "admin-key-0123456789", 1)
        let run = try CLI.capture(URL(fileURLWithPath: schemathesis), [
            "--config-file", ReferencePython.repositoryFile("scripts/schemathesis.toml"), "run", server.base + "/openapi.yaml",
            "--checks", "all", "-n", "30", "--generation-deterministic", "--phases", "examples,coverage,fuzzing", "--no-color",
        ])
        #expect(run.status == 0, "\(run.output.suffix(6000))")
        #expect(run.output.contains(" passed"), "\(run.output.suffix(2000))")
        #expect(try HTTP.get(server.base + "/healthz").status == 200, "the server is still up")
    }
}
