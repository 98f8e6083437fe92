import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `akin serve` started as a user starts it, on a free loopback port, and talked to over HTTP.
final class ServerProcess {
    let process: Process
    let port: Int
    let base: String
    private let output: Pipe
    /// What the server printed on standard error (read when it has stopped).
    private(set) var errors = ""
    private let errorPipe: Pipe

    /// Starts `akin serve --dir DIR --port 0 ARGS` and waits (up to 60 s) for its "listening" line.
    init(dir: String, _ arguments: [String] = []) throws {
        process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["serve", "--dir", dir, "--port", "0"] + arguments
        output = Pipe()
        errorPipe = Pipe()
        process.standardOutput = output
        process.standardError = errorPipe
        try process.run()
        var seen = Data()
        let deadline = Date().addingTimeInterval(60)
        var found: Int?
        while found == nil && Date() < deadline && process.isRunning {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { usleep(10_000); continue }
            seen += chunk
            let text = String(decoding: seen, as: UTF8.self)
            if let range = text.range(of: #"listening on http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                found = Int(text[range].split(separator: ":").last!)
            }
        }
        guard let found else {
            process.terminate()
            throw ServerTestError.didNotStart(String(decoding: seen, as: UTF8.self) + String(decoding: errorPipe.fileHandleForReading.availableData, as: UTF8.self))
        }
        port = found
        base = "http://127.0.0.1:\(found)"
    }

    /// Sends SIGTERM (or `signal`) and waits for the exit status.
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM) -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        process.waitUntilExit()
        errors = String(decoding: errorPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return process.terminationStatus
    }

    /// What the server printed on standard output after its first line.
    func remainingOutput() -> String { String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }

    /// Waits until GET /readyz answers 200.
    func waitUntilReady() throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if (try? HTTP.get(base + "/readyz"))?.status == 200 { return }
            usleep(20_000)
        }
        throw ServerTestError.notReady
    }
}

enum ServerTestError: Error {
    case didNotStart(String)
    case notReady
    case noAnswer(String)
}

/// An HTTP answer.
struct HTTPAnswer {
    var status: Int
    var headers: [String: String]
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }
    /// The body as a JSON object (an empty one when it is not).
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    var errorCode: String? { json["error"] as? String }
}

/// Blocking HTTP calls through URLSession, for tests.
enum HTTP {
    /// One session for every request (FoundationNetworking keeps some of each session's libcurl state to
    /// the end of the process), with connections enough for the tests' threads.
    static let shared: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 120
        configuration.httpMaximumConnectionsPerHost = 64
        return URLSession(configuration: configuration)
    }()

    final class Box: @unchecked Sendable {
        var answer: HTTPAnswer?
        var error: (any Error)?
    }

    static func send(_ method: String, _ url: String, body: Data? = nil, contentType: String? = nil,
                     headers: [String: String] = [:], timeout: TimeInterval = 120) throws -> HTTPAnswer {
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = timeout
        request.httpMethod = method
        request.httpBody = body
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let done = DispatchSemaphore(value: 0), box = Box()
        shared.dataTask(with: request) { data, response, error in
            if let response = response as? HTTPURLResponse {
                var fields: [String: String] = [:]
                for (name, value) in response.allHeaderFields { fields[String(describing: name).lowercased()] = String(describing: value) }
                box.answer = HTTPAnswer(status: response.statusCode, headers: fields, body: data ?? Data())
            } else {
                box.error = error ?? ServerTestError.noAnswer(url)
            }
            done.signal()
        }.resume()
        done.wait()
        if let answer = box.answer { return answer }
        throw box.error!
    }

    static func get(_ url: String, headers: [String: String] = [:]) throws -> HTTPAnswer { try send("GET", url, headers: headers) }

    static func json(_ method: String, _ url: String, _ object: Any, headers: [String: String] = [:], timeout: TimeInterval = 120) throws -> HTTPAnswer {
        try send(method, url, body: try JSONSerialization.data(withJSONObject: object), contentType: "application/json", headers: headers, timeout: timeout)
    }
}
