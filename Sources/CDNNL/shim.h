#include <oneapi/dnnl/dnnl.h>
// Status, instruction-set and format names for error messages.
#include <oneapi/dnnl/dnnl_debug.h>
// oneDNN runs on libgomp's OpenMP threads; its pool size is set from Swift through this.
extern void omp_set_num_threads(int num_threads);
// …and read back by Akin's own parallel kernels, so they use as many threads as oneDNN.
extern int omp_get_max_threads(void);
