// Dot products of float vectors, the inner loop of every index in the Search module. Each entry
// point picks, once per process, the AVX2+FMA version when the CPU has it (faiss and hnswlib are
// built for it too) and a portable one otherwise; Swift cannot compile a function for a CPU
// feature the rest of the program may not assume, so this lives in C.
#ifndef AKIN_VECTOR_KERNELS_H
#define AKIN_VECTOR_KERNELS_H

#include <stdint.h>

/// Σ a[i]·b[i] over `count` floats.
float akin_dot(const float *a, const float *b, long count);

/// out[r] = query · rows[r], for `rowCount` rows of `dimension` floats stored one after another
/// (exact search of one query).
void akin_dot_rows(const float *query, const float *rows, long rowCount, long dimension, float *out);

/// out[i] = query · base[ids[i]], the rows of `base` named by `ids` (a graph node's neighbours).
void akin_dot_gather(const float *query, const float *base, const int32_t *ids, long count, long dimension, float *out);

/// The first i below `count` with values[i] >= bound, or `count` when there is none: a top-k scan
/// skips the scores that cannot get in eight at a time.
long akin_first_at_least(const float *values, long count, float bound);

/// 1 when the AVX2+FMA versions are in use.
int akin_vector_kernels_use_avx2(void);

// Each version by name, so tests can hold both to a plain loop. Call the avx2 ones only when
// akin_vector_kernels_use_avx2() is 1.
float akin_dot_portable(const float *a, const float *b, long count);
void akin_dot_rows_portable(const float *query, const float *rows, long rowCount, long dimension, float *out);
void akin_dot_gather_portable(const float *query, const float *base, const int32_t *ids, long count, long dimension, float *out);
long akin_first_at_least_portable(const float *values, long count, float bound);
float akin_dot_avx2(const float *a, const float *b, long count);
void akin_dot_rows_avx2(const float *query, const float *rows, long rowCount, long dimension, float *out);
void akin_dot_gather_avx2(const float *query, const float *base, const int32_t *ids, long count, long dimension, float *out);
long akin_first_at_least_avx2(const float *values, long count, float bound);

#endif
