// System-library shim: OpenBLAS's CBLAS interface plus the few LAPACK routines bihash calls
// (Debian's libopenblas0-pthread exports LAPACK's Fortran symbols from the same library).
#ifndef BIHASH_CBLAS_SHIM_H
#define BIHASH_CBLAS_SHIM_H
#include <cblas.h>

// LAPACK (Fortran calling convention: every argument by pointer; column-major matrices).
// Symmetric eigen-decomposition: jobz 'V' computes eigenvectors, uplo 'U'/'L'.
void ssyev_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda,
            float *w, float *work, const int *lwork, int *info);
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info);
// Symmetric eigen-decomposition by relatively robust representations (MRRR); range 'A' (all), 'V' (values in
// (vl, vu]) or 'I' (the il-th through iu-th smallest, 1-based). Computes only the requested eigenpairs.
void ssyevr_(const char *jobz, const char *range, const char *uplo, const int *n, float *a, const int *lda,
             const float *vl, const float *vu, const int *il, const int *iu, const float *abstol, int *m,
             float *w, float *z, const int *ldz, int *isuppz, float *work, const int *lwork, int *iwork,
             const int *liwork, int *info);
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *lda,
             const double *vl, const double *vu, const int *il, const int *iu, const double *abstol, int *m,
             double *w, double *z, const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
             const int *liwork, int *info);
// Singular value decomposition A = U diag(S) V^T.
void sgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, float *a, const int *lda,
             float *s, float *u, const int *ldu, float *vt, const int *ldvt, float *work,
             const int *lwork, int *info);
void dgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a, const int *lda,
             double *s, double *u, const int *ldu, double *vt, const int *ldvt, double *work,
             const int *lwork, int *info);
// Solve A X = B for a general square A (LU with partial pivoting).
void sgesv_(const int *n, const int *nrhs, float *a, const int *lda, int *ipiv, float *b, const int *ldb,
            int *info);
void dgesv_(const int *n, const int *nrhs, double *a, const int *lda, int *ipiv, double *b, const int *ldb,
            int *info);
#endif
