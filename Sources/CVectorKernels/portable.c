#include "vector_kernels.h"

// Eight running sums side by side: the compiler turns them into vector lanes without having to
// reorder a single sum (which it may not do for floats), and no product waits on the one before.
float akin_dot_portable(const float *a, const float *b, long count) {
    float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    long i = 0;
    for (; i + 8 <= count; i += 8)
        for (int j = 0; j < 8; j++) sums[j] += a[i + j] * b[i + j];
    float total = ((sums[0] + sums[4]) + (sums[1] + sums[5])) + ((sums[2] + sums[6]) + (sums[3] + sums[7]));
    for (; i < count; i++) total += a[i] * b[i];
    return total;
}

void akin_dot_rows_portable(const float *query, const float *rows, long rowCount, long dimension, float *out) {
    for (long r = 0; r < rowCount; r++) out[r] = akin_dot_portable(query, rows + r * dimension, dimension);
}

void akin_dot_gather_portable(const float *query, const float *base, const int32_t *ids, long count, long dimension, float *out) {
    for (long i = 0; i < count; i++) out[i] = akin_dot_portable(query, base + (long)ids[i] * dimension, dimension);
}

long akin_first_at_least_portable(const float *values, long count, float bound) {
    long i = 0;
    while (i < count && !(values[i] >= bound)) i++;
    return i;
}
