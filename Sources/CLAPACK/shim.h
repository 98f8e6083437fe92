#include <stddef.h>

// Debian's libopenblas carries LAPACK but ships no LAPACK header with it (lapacke.h is another
// package), so the one Fortran routine Akin calls is declared here, with gfortran's calling
// convention: every argument by address, then the hidden lengths of the character arguments.

/// Eigenvalues (ascending) and, with jobz = 'V', orthonormal eigenvectors of a symmetric matrix,
/// by divide and conquer. The eigenvectors overwrite `a` column by column (column-major).
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobz_length, size_t uplo_length);
