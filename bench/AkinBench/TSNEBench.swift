import Foundation
import Projection
import Tensors

/// `akin-bench tsne --input FILE --n N --d D [--iterations I]`: t-SNE (Barnes-Hut, defaults) on N×D
/// float32 values read from FILE (row-major, little-endian), timed from the vectors in memory
/// to the map (wall time, and the process's user + system CPU time). Prints one JSON object and writes the map beside FILE as FILE.akin.f64 for
/// the comparison script.
enum TSNEBench {
    static func run(input: String, n: Int, d: Int, iterations: Int) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: input))
        precondition(data.count == n * d * 4, "\(input) holds \(data.count) bytes, not \(n)×\(d) float32")
        let x = Tensor(shape: [n, d])
        _ = data.withUnsafeBytes { memcpy(x.pointer, $0.baseAddress!, n * d * 4) }
        let started = Date(), cpuStarted = cpuSeconds()
        // The phases: affinities (neighbours, perplexity) until the first progress report's
        // iterations began, then the iterations; read off the progress calls, not timed apart.
        var firstReport: (seconds: Double, iterations: Int)?
        let result = try TSNE.embed(x, options: TSNEOptions(iterations: iterations)) { done, _ in
            if firstReport == nil { firstReport = (Date().timeIntervalSince(started), done) }
        }
        let seconds = Date().timeIntervalSince(started), cpu = cpuSeconds() - cpuStarted
        let perIteration = firstReport.map { (seconds - $0.seconds) / Double(max(1, result.iterations - $0.iterations)) } ?? 0
        let setup = (firstReport?.seconds ?? 0) - perIteration * Double(firstReport?.iterations ?? 0)
        try result.points.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: input + ".akin.f64")) }
        print("{\"seconds\": \(seconds), \"cpu_seconds\": \(cpu), \"kl_divergence\": \(result.divergence), \"n\": \(n), \"iterations\": \(result.iterations), \"setup_seconds\": \(setup), \"seconds_per_iteration\": \(perIteration)}")
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
