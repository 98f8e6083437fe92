import CDNNL
import COpenBLAS
import Dispatch
import Foundation
import Synchronization

/// oneDNN runs on OpenMP threads and OpenBLAS on its own pthreads. Both are sized once, to the
/// same count, so the two pools never ask for more cores than there are. They never run at the
/// same time: every kernel call returns before the next starts. Akin's own parallel loops
/// (decoding, augmentation, t-SNE, IDX conversion) run on at most the same count, through `forEach`.
public enum ComputeThreads {
    private static let configured = Atomic<Int>(ProcessInfo.processInfo.activeProcessorCount)

    /// The threads every pool may use: what `configure` set, else the machine's cores.
    public static var count: Int { configured.load(ordering: .relaxed) }

    public static func configure(count: Int) {
        let n = max(1, count)
        configured.store(n, ordering: .relaxed)
        openblas_set_num_threads(Int32(n))
        omp_set_num_threads(Int32(n))
    }

    /// `body(0)` … `body(iterations − 1)`, on at most `count` threads at once; each thread takes
    /// the next index as it finishes one, so an uneven piece holds up nothing. The calls must touch
    /// disjoint memory.
    public static func forEach(_ iterations: Int, _ body: (Int) -> Void) {
        guard iterations > 0 else { return }
        let workers = min(count, iterations)
        if workers == 1 {
            for i in 0..<iterations { body(i) }
            return
        }
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let i = next.add(1, ordering: .relaxed).oldValue
                    guard i < iterations else { return }
                    work.value(i)
                }
            }
        }
    }
}
