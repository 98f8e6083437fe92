import CDNNL
import COpenBLAS

/// oneDNN runs on OpenMP threads and OpenBLAS on its own pthreads. Both are sized once, to the
/// same count, so the two pools never ask for more cores than there are. They never run at the
/// same time: every kernel call returns before the next starts.
public enum ComputeThreads {
    public static func configure(count: Int) {
        let n = Int32(max(1, count))
        openblas_set_num_threads(n)
        omp_set_num_threads(n)
    }
}
