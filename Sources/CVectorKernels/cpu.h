// Whether this CPU runs AVX2 and FMA instructions (avx2.c asks it; 0 off x86-64).
int akin_cpu_has_avx2_fma(void);
