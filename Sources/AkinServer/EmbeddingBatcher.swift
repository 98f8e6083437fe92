import Akin
import Foundation
import Metrics

/// Embeds images that arrive together in one forward pass: the first image of a batch waits up to
/// `wait` for others (or until `maxBatch` have come), so under concurrent load the network runs
/// batches as `akin embed` does, and a lone request waits no more than `wait`. One thread per model
/// runs the network, so the model (which is not thread-safe) is used from that thread only.
final class EmbeddingBatcher: @unchecked Sendable {
    let model: EmbeddingModel
    let maxBatch: Int
    let wait: Duration
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var pending: [(pixels: [UInt8], reply: CheckedContinuation<[Float], any Error>)] = []
    private var stopped = false
    private let batchSizes: Recorder

    init(model: EmbeddingModel, name: String, maxBatch: Int, wait: Duration) {
        self.model = model
        self.maxBatch = max(1, maxBatch)
        self.wait = wait
        batchSizes = Recorder(label: "akin_embedding_batch_size", dimensions: [("model", name)], aggregate: true)
        let thread = Thread { [self] in run() }
        thread.name = "akin-embed-\(name)"
        thread.start()
    }

    /// Decodes `data` (JPEG or PNG) as the model takes it, on the caller's task, so decoding runs on
    /// all cores; then waits for its batch.
    func embed(imageData data: Data, maxPixels: Int) async throws -> [Float] {
        let preprocessing = model.preprocessing
        let image = try ImageDecoder.decode(data, channels: preprocessing.channels, minimumSide: preprocessing.decodedSide, maxPixels: maxPixels)
        let pixels = try ImageSet(images: [image], preprocessing: preprocessing).pixels
        return try await withCheckedThrowingContinuation { reply in
            condition.lock()
            defer { condition.unlock() }
            guard !stopped else { return reply.resume(throwing: APIError(.serviceUnavailable, "stopping", "the server is shutting down")) }
            pending.append((pixels, reply))
            condition.signal()
        }
    }

    /// Stops the thread after the batches already queued.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while let batch = nextBatch() {
            let replies = batch.map(\.reply)
            batchSizes.record(batch.count)
            do {
                let vectors = try embed(batch.map(\.pixels))
                let d = vectors.shape[1]
                for (i, reply) in replies.enumerated() { reply.resume(returning: Array(vectors.buffer[(i * d)..<((i + 1) * d)])) }
            } catch {
                for reply in replies { reply.resume(throwing: error) }
            }
        }
    }

    /// The next batch: blocks until one image is queued, then gathers more until `maxBatch` or
    /// `wait` has passed. Nil once stopped with nothing queued.
    private func nextBatch() -> [(pixels: [UInt8], reply: CheckedContinuation<[Float], any Error>)]? {
        condition.lock()
        defer { condition.unlock() }
        while pending.isEmpty && !stopped { condition.wait() }
        if pending.isEmpty { return nil }
        let (seconds, attoseconds) = wait.components
        let deadline = Date(timeIntervalSinceNow: Double(seconds) + Double(attoseconds) * 1e-18)
        while pending.count < maxBatch && !stopped && condition.wait(until: deadline) {}
        let taken = Array(pending.prefix(maxBatch))
        pending.removeFirst(taken.count)
        return taken
    }

    /// One forward pass. Batches are padded to a power of two (repeating the last image) so the
    /// network sees a handful of shapes and builds its primitives once for each.
    private func embed(_ images: [[UInt8]]) throws -> Tensor {
        let preprocessing = model.preprocessing
        var padded = 1
        while padded < images.count { padded *= 2 }
        var pixels: [UInt8] = []
        pixels.reserveCapacity(padded * preprocessing.valuesPerImage)
        for i in 0..<padded { pixels += images[min(i, images.count - 1)] }
        let set = ImageSet(imageSize: preprocessing.imageSize, channels: preprocessing.channels, classNames: [""],
                           paths: Array(repeating: "", count: padded), labels: Array(repeating: 0, count: padded), pixels: pixels)
        return try model.embed(set, batchSize: padded)
    }
}
