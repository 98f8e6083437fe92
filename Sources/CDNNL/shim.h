#include <oneapi/dnnl/dnnl.h>
// oneDNN runs on libgomp's OpenMP threads; its pool size is set from Swift through this.
extern void omp_set_num_threads(int num_threads);
