#include "vector_kernels.h"
#include "cpu.h"

// Decided once, before main runs, so the hot calls test a constant flag.
static int use_avx2;
__attribute__((constructor)) static void choose_kernels(void) { use_avx2 = akin_cpu_has_avx2_fma(); }

int akin_vector_kernels_use_avx2(void) { return use_avx2; }

float akin_dot(const float *a, const float *b, long count) {
    return use_avx2 ? akin_dot_avx2(a, b, count) : akin_dot_portable(a, b, count);
}

void akin_dot_rows(const float *query, const float *rows, long rowCount, long dimension, float *out) {
    if (use_avx2) akin_dot_rows_avx2(query, rows, rowCount, dimension, out);
    else akin_dot_rows_portable(query, rows, rowCount, dimension, out);
}

void akin_dot_gather(const float *query, const float *base, const int32_t *ids, long count, long dimension, float *out) {
    if (use_avx2) akin_dot_gather_avx2(query, base, ids, count, dimension, out);
    else akin_dot_gather_portable(query, base, ids, count, dimension, out);
}

long akin_first_at_least(const float *values, long count, float bound) {
    return use_avx2 ? akin_first_at_least_avx2(values, count, bound) : akin_first_at_least_portable(values, count, bound);
}
