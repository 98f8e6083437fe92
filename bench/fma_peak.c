// The machine's fp32 peak as this benchmark counts it: every thread runs independent chains of
// 8-wide fused multiply-adds (2 FLOPs per lane) on registers only. Prints GFLOP/s.
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS 12
static const long ITERATIONS = 2000000000L / CHAINS;
static float sink[64];

static void *run(void *arg) {
    __m256 acc[CHAINS];
    __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int c = 0; c < CHAINS; c++) acc[c] = _mm256_set1_ps((float)c);
    for (long i = 0; i < ITERATIONS; i++)
        for (int c = 0; c < CHAINS; c++) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
    __m256 total = acc[0];
    for (int c = 1; c < CHAINS; c++) total = _mm256_add_ps(total, acc[c]);
    _mm256_storeu_ps(&sink[8 * (long)arg], total);
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    pthread_t ids[8];
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long t = 0; t < threads; t++) pthread_create(&ids[t], NULL, run, (void *)t);
    for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    double flops = 2.0 * 8 * CHAINS * (double)ITERATIONS * threads;
    printf("%.1f\n", flops / seconds / 1e9);
    return sink[0] == 12345.0f;
}
