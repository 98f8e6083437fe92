#include "vector_kernels.h"
#include "cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline float horizontal_sum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 float akin_dot_avx2(const float *a, const float *b, long count) {
    __m256 even = _mm256_setzero_ps(), odd = _mm256_setzero_ps();
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        even = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), even);
        odd = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), odd);
    }
    if (i + 8 <= count) {
        even = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), even);
        i += 8;
    }
    float total = horizontal_sum(_mm256_add_ps(even, odd));
    for (; i < count; i++) total += a[i] * b[i];
    return total;
}

// Four rows against one query at a time: each query load feeds four products, and one pair of
// horizontal adds finishes four sums at once.
AVX2 static inline __m128 dot4(const float *q, const float *x0, const float *x1, const float *x2, const float *x3, long dimension) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (long i = 0; i < dimension; i += 8) {
        __m256 qv = _mm256_loadu_ps(q + i);
        s0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x0 + i), s0);
        s1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x1 + i), s1);
        s2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x2 + i), s2);
        s3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x3 + i), s3);
    }
    __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(s0, s1), _mm256_hadd_ps(s2, s3));
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

AVX2 void akin_dot_rows_avx2(const float *query, const float *rows, long rowCount, long dimension, float *out) {
    long r = 0;
    if (dimension % 8 == 0) {
        for (; r + 4 <= rowCount; r += 4) {
            const float *x = rows + r * dimension;
            _mm_storeu_ps(out + r, dot4(query, x, x + dimension, x + 2 * dimension, x + 3 * dimension, dimension));
        }
    }
    for (; r < rowCount; r++) out[r] = akin_dot_avx2(query, rows + r * dimension, dimension);
}

AVX2 void akin_dot_gather_avx2(const float *query, const float *base, const int32_t *ids, long count, long dimension, float *out) {
    long i = 0;
    if (dimension % 8 == 0) {
        for (; i + 4 <= count; i += 4) {
            _mm_storeu_ps(out + i, dot4(query, base + (long)ids[i] * dimension, base + (long)ids[i + 1] * dimension,
                                        base + (long)ids[i + 2] * dimension, base + (long)ids[i + 3] * dimension, dimension));
        }
    }
    for (; i < count; i++) out[i] = akin_dot_avx2(query, base + (long)ids[i] * dimension, dimension);
}

AVX2 long akin_first_at_least_avx2(const float *values, long count, float bound) {
    __m256 b = _mm256_set1_ps(bound);
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(values + i), b, _CMP_GE_OQ));
        if (mask) return i + __builtin_ctz((unsigned)mask);
    }
    for (; i < count; i++)
        if (values[i] >= bound) return i;
    return count;
}

int akin_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#else

// Not an x86-64 CPU: the portable versions stand in, and use_avx2 says 0.
float akin_dot_avx2(const float *a, const float *b, long count) { return akin_dot_portable(a, b, count); }
void akin_dot_rows_avx2(const float *query, const float *rows, long rowCount, long dimension, float *out) {
    akin_dot_rows_portable(query, rows, rowCount, dimension, out);
}
void akin_dot_gather_avx2(const float *query, const float *base, const int32_t *ids, long count, long dimension, float *out) {
    akin_dot_gather_portable(query, base, ids, count, dimension, out);
}
long akin_first_at_least_avx2(const float *values, long count, float bound) {
    return akin_first_at_least_portable(values, count, bound);
}
int akin_cpu_has_avx2_fma(void) { return 0; }

#endif
