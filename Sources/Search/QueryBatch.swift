import COpenBLAS
import Dispatch
import Tensors

/// Splits a batch of queries over the compute threads (`--threads`), each part answered in order
/// with its own scratch space; one thread when the batch is too small to share.
enum QueryBatch {
    /// The threads `ComputeThreads.configure` allowed (OpenBLAS keeps the number).
    static var threads: Int { Int(openblas_get_num_threads()) }

    static func map(_ count: Int, minimumPerThread: Int = 32, _ body: (Range<Int>) -> [[SearchHit]]) -> [[SearchHit]] {
        let threads = min(Self.threads, count / minimumPerThread)
        guard threads > 1 else { return body(0..<count) }
        var parts = [[[SearchHit]]](repeating: [], count: threads)
        parts.withUnsafeMutableBufferPointer { p in
            let out = UncheckedSendable(p.baseAddress!)
            parallel(threads) { t in out.value[t] = body((t * count / threads)..<((t + 1) * count / threads)) }
        }
        return parts.flatMap { $0 }
    }

    /// `body(0)` … `body(count − 1)` on `count` threads at once. The parts must touch disjoint memory
    /// and only read what they share: the index is not changed while it answers.
    static func parallel(_ count: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: count) { work.value($0) }
        }
    }
}
