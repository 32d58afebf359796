/* Concurrent bihash_model_encode on one model: do two request threads finish a fixed workload faster than one?
 * (A by-hand measurement, not a test: timings on a shared machine are not assertions.)
 *
 *   cc -O2 -I PREFIX/include -o encode_threads tools/bench/encode/encode_threads.c \
 *      -L PREFIX/lib -Wl,-rpath,PREFIX/lib -lbihash -lpthread
 *   OPENBLAS_NUM_THREADS=1 ./encode_threads [ROWS_PER_CALL=16] [CALLS=4000] [METHOD=sdc]
 *
 * Trains a 64-bit model (1 epoch) on 512 random rows of D = 256, then, three times: CALLS encodes of ROWS_PER_CALL
 * rows on 1 thread, and the same CALLS split over 2 threads. Prints wall seconds, CPU seconds per wall second
 * (about 2 when both threads compute at once on 2 idle cores, about 1 when they take turns) and the voluntary
 * context switches (threads blocking, e.g. on a lock); checks every code against a single-threaded encode. */
#include <bihash.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum { D = 256, BITS = 64, INPUTS = 16 };
static bihash_model *model;
static float *x;
static size_t rows, bytes;
static int calls;
static uint8_t *expected;
static pthread_barrier_t barrier;

typedef struct { int first, count, errors; } arg;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static struct rusage usage(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u;
}

static double seconds(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec * 1e-6; }

static void *worker(void *p) {
    arg *a = p;
    uint8_t *codes = malloc(bytes);
    pthread_barrier_wait(&barrier);
    for (int c = a->first; c < a->first + a->count; c++) {
        size_t input = (size_t)(c % INPUTS);
        int s = codes ? bihash_model_encode(model, x + input * rows * D, rows, D, codes, bytes) : BIHASH_ERR_INTERNAL;
        if (s != BIHASH_OK || memcmp(codes, expected + input * bytes, bytes) != 0) a->errors++;
    }
    free(codes);
    return NULL;
}

/* CALLS encodes on `threads` threads; returns wall seconds, sets CPU seconds and voluntary context switches. */
static double run(int threads, double *cpu, long *waits, int *errors) {
    pthread_t t[2];
    arg a[2];
    pthread_barrier_init(&barrier, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++) {
        a[i] = (arg){i * (calls / threads), calls / threads, 0};
        pthread_create(&t[i], NULL, worker, &a[i]);
    }
    pthread_barrier_wait(&barrier);
    struct rusage u0 = usage();
    double start = now();
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        *errors += a[i].errors;
    }
    double wall = now() - start;
    struct rusage u1 = usage();
    *cpu = seconds(u1.ru_utime) - seconds(u0.ru_utime) + seconds(u1.ru_stime) - seconds(u0.ru_stime);
    *waits = u1.ru_nvcsw - u0.ru_nvcsw;
    pthread_barrier_destroy(&barrier);
    return wall;
}

int main(int argc, char **argv) {
    rows = argc > 1 ? (size_t)atoi(argv[1]) : 16;
    calls = argc > 2 ? atoi(argv[2]) : 4000;
    const char *method = argc > 3 ? argv[3] : "sdc";
    if (rows < 1 || calls < 2) { fprintf(stderr, "usage: encode_threads [ROWS_PER_CALL] [CALLS] [METHOD]\n"); return 2; }
    size_t n = 512;
    float *train = malloc(sizeof(float) * n * D);
    x = malloc(sizeof(float) * INPUTS * rows * D);
    bytes = rows * BIHASH_CODE_BYTES(BITS);
    expected = malloc(INPUTS * bytes);
    if (!train || !x || !expected) return 1;
    srand(1);
    for (size_t i = 0; i < n * D; i++) train[i] = (float)rand() / (float)RAND_MAX * 4 - 2;
    for (size_t i = 0; i < INPUTS * rows * D; i++) x[i] = (float)rand() / (float)RAND_MAX * 4 - 2;
    bihash_train_options *o = NULL;
    if (bihash_train_options_new(&o) != BIHASH_OK || bihash_train_options_set_method(o, method) != BIHASH_OK ||
        bihash_train_options_set_bits(o, BITS) != BIHASH_OK || bihash_train_options_set_epochs(o, 1) != BIHASH_OK ||
        bihash_train_options_set_batch_size(o, 64) != BIHASH_OK || bihash_train(o, train, n, D, NULL, &model) != BIHASH_OK) {
        fprintf(stderr, "%s\n", bihash_last_error());
        return 1;
    }
    for (size_t c = 0; c < INPUTS; c++)
        if (bihash_model_encode(model, x + c * rows * D, rows, D, expected + c * bytes, bytes) != BIHASH_OK) return 1;
    int errors = 0;
    double cpu;
    long waits;
    run(1, &cpu, &waits, &errors); /* warm-up */
    for (int rep = 0; rep < 3; rep++) {
        double c1, c2;
        long w1, w2;
        double t1 = run(1, &c1, &w1, &errors), t2 = run(2, &c2, &w2, &errors);
        printf("%s, %zu rows per call, %d calls: 1 thread %.3f s (%.2f CPU s/s, %ld waits) | "
               "2 threads %.3f s = %.2fx (%.2f CPU s/s, %ld waits)\n",
               method, rows, calls, t1, c1 / t1, w1, t2, t1 / t2, c2 / t2, w2);
    }
    printf("wrong or failed encodes: %d\n", errors);
    bihash_model_free(model);
    bihash_train_options_free(o);
    free(train);
    free(x);
    free(expected);
    return errors != 0;
}
