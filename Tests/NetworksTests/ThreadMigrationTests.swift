import Foundation
import Networks
import Tensors
import Testing

/// Runs `work` on a new thread (one that has never run a oneDNN primitive) and waits for it.
/// Swift concurrency moves work between threads the same way: a network built inside one task
/// step may run in the next on another thread.
private func onNewThread(_ work: @escaping () -> Void) {
    final class Job: @unchecked Sendable {
        let work: () -> Void
        let done = DispatchSemaphore(value: 0)
        init(_ work: @escaping () -> Void) { self.work = work }
    }
    let job = Job(work)
    let thread = Thread { job.work(); job.done.signal() }
    thread.start()
    job.done.wait()
}

/// oneDNN's library-managed scratchpad is one buffer per thread (DNNL_ENABLE_CONCURRENT_EXEC is
/// off in Debian's build): a primitive created on one thread and run on another reads the second
/// thread's buffer, which may be missing or too small. Akin's kernels bring their own scratchpad,
/// so where they run does not matter; these tests build on one thread and run on others.
@Suite("oneDNN kernels run on any thread")
struct ThreadMigrationTests {
    func runEverywhere(_ architecture: Architecture, fused: Bool, batch: Int) throws {
        let network = architecture.build(fused: fused)
        var generator = RandomGenerator(seed: 11)
        Initialization.kaimingNormal(network, using: &generator)
        let input = Tensor(shape: [batch] + architecture.inputShape)
        for i in 0..<input.count { input[i] = generator.nextFloat() * 2 - 1 }
        let output = try network.forward(input)
        let upstream = Tensor(shape: output.shape)
        for i in 0..<upstream.count { upstream[i] = generator.nextFloat() * 2 - 1 }

        // Built and run here; the gradients and outputs every other thread must reproduce.
        func step() throws -> [[Float]] {
            let out = try network.forward(input).array
            try network.backward(upstream)
            return [out] + network.parameters.map(\.gradient.array)
        }
        let expected = try step()
        var results: [[[Float]]] = []
        var failure: (any Error)?
        for _ in 0..<2 {
            onNewThread {
                do { results.append(try step()) } catch { failure = error }
            }
        }
        if let failure { throw failure }
        for result in results { #expect(result == expected) }

        // Kernels built on another thread (inference mode builds new ones), run here.
        network.isTraining = false
        var inference: [Float] = []
        onNewThread {
            do { inference = try network.forward(input).array } catch { failure = error }
        }
        if let failure { throw failure }
        #expect(try network.forward(input).array == inference)
    }

    /// Fused: one oneDNN kernel for the whole ResNet. Layer by layer: convolutions on plain
    /// layouts, which oneDNN runs as im2col + GEMM, the kernels that use its per-thread scratchpad.
    @Test(arguments: [true, false])
    func residualNetwork(fused: Bool) throws {
        try runEverywhere(.residual(channels: 1, imageSize: 12, widths: [8, 24], blocks: [1, 1], embeddingDimension: 5), fused: fused, batch: 6)
    }

    @Test(arguments: [true, false])
    func seedNetwork(fused: Bool) throws {
        try runEverywhere(.seed(channels: 3, imageSize: 16, embeddingDimension: 6), fused: fused, batch: 4)
    }
}
