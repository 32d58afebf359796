/*
 * abi_test.c — calls every entry point of include/bihash.h, with good and bad inputs, against libbihash.so.
 *
 *   abi_test WORKDIR TABLE.md
 * WORKDIR receives the fixture files (models, codes, indexes, PNG and JPEG images made here with libpng and
 * TurboJPEG). TABLE.md receives a markdown table of every bad input tried and what it returned. The exit status is
 * the number of failed expectations (0 = all passed). Built by Tests/BihashCTests with -Wall -Werror (and under
 * ASan/UBSan).
 */
#include <bihash.h>

#include <math.h>
#include <png.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <zlib.h>

static int failures = 0, checks = 0;
static FILE *table = NULL;
static char dir[4096];

static const char *path(const char *name) {
    static char buf[8][4352];
    static int slot = 0;
    slot = (slot + 1) % 8;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", dir, name);
    return buf[slot];
}

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    failures++;
}

/* A condition that must hold. */
#define CHECK_TRUE(cond)                                                                       \
    do {                                                                                       \
        checks++;                                                                              \
        if (!(cond)) fail("%s:%d: %s", __FILE__, __LINE__, #cond);                             \
    } while (0)

/* A call that must succeed. */
#define OK(call)                                                                               \
    do {                                                                                       \
        checks++;                                                                              \
        int s_ = (call);                                                                       \
        if (s_ != BIHASH_OK)                                                                   \
            fail("%s:%d: %s returned %s: %s", __FILE__, __LINE__, #call, bihash_status_string(s_), \
                 bihash_last_error());                                                         \
    } while (0)

/* A bad input: the call must return `expected`, set a non-empty message, and is recorded in the table. */
static void bad(const char *what, const char *call, int status, int expected) {
    checks++;
    const char *msg = bihash_last_error();
    if (status != expected) fail("%s (%s): expected %s, got %s: %s", what, call, bihash_status_string(expected),
                                 bihash_status_string(status), msg);
    else if (status != BIHASH_OK && msg[0] == '\0') fail("%s (%s): empty bihash_last_error()", what, call);
    if (table) {
        fprintf(table, "| %s | `", what);
        for (const char *c = call; *c; c++) fputc(*c == '|' ? '/' : *c, table);
        fprintf(table, "` | %s | ", bihash_status_string(status));
        int n = 0;
        for (const char *c = status == BIHASH_OK ? "" : msg; *c && n < 140; c++, n++) {
            if (*c == '|') fputs("\\|", table);
            else if (*c == '\n') fputc(' ', table);
            else fputc(*c, table);
        }
        if (strlen(msg) > 140 && status != BIHASH_OK) fputs("…", table);
        fputs(" |\n", table);
    }
}
#define BAD(what, call, expected) bad(what, #call, (call), expected)

/* Deterministic pseudo-random floats (xorshift). */
static uint64_t rng = 88172645463325252ull;
static float frand(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static int progress_calls = 0;
static int count_epochs(const bihash_progress *p, void *user) {
    (void)user;
    if (p->struct_size == sizeof(bihash_progress) && p->epoch >= 1 && p->epoch <= p->epochs) progress_calls++;
    return 0;
}
static int cancel_at_first(const bihash_progress *p, void *user) {
    (void)p;
    (*(int *)user)++;
    return 1;
}

static int write_file(const char *p, const void *data, size_t n) {
    FILE *f = fopen(p, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

static void *read_file(const char *p, size_t *n) {
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(size > 0 ? (size_t)size : 1);
    *n = fread(buf, 1, (size_t)size, f);
    fclose(f);
    return buf;
}

/* ------------------------------------------------------------------------------------------------ */
/* Images made with libpng's and TurboJPEG's writers                                                 */
/* ------------------------------------------------------------------------------------------------ */

static int write_png(const char *p, uint32_t format, int w, int h, int colormap) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = format;
    size_t size = PNG_IMAGE_SIZE(img);
    unsigned char *buf = malloc(size);
    for (size_t i = 0; i < size; i++) buf[i] = (unsigned char)((i * 37) % (colormap ? 4 : 256));
    unsigned char map[4 * 3] = {0, 0, 0, 255, 0, 0, 0, 255, 0, 255, 255, 255};
    if (colormap) img.colormap_entries = 4;
    int ok = png_image_write_to_file(&img, p, 0, buf, 0, colormap ? map : NULL);
    free(buf);
    png_image_free(&img);
    return ok ? 0 : -1;
}

static int write_jpeg(const char *p, int pf, int samp, int flags, int w, int h) {
    int bpp = tjPixelSize[pf];
    unsigned char *src = malloc((size_t)w * h * bpp);
    for (int i = 0; i < w * h * bpp; i++) src[i] = (unsigned char)((i * 13) % 256);
    tjhandle t = tjInitCompress();
    unsigned char *out = NULL;
    unsigned long size = 0;
    int r = tjCompress2(t, src, w, 0, h, pf, &out, &size, samp, 90, flags);
    if (r == 0) r = write_file(p, out, size);
    tjFree(out);
    tjDestroy(t);
    free(src);
    return r;
}

/* ------------------------------------------------------------------------------------------------ */
/* Threads                                                                                           */
/* ------------------------------------------------------------------------------------------------ */

typedef struct {
    bihash_index *index;
    const uint8_t *queries;
    size_t nq;
    int errors;
    int searches;
} searcher_arg;

static _Atomic int adding_done = 0; /* atomic: volatile is no synchronisation (ThreadSanitizer) */

static void *searcher(void *p) {
    searcher_arg *a = p;
    uint64_t ids[16 * 5];
    uint32_t d[16 * 5];
    while (!adding_done || a->searches < 50) {
        if (bihash_index_search(a->index, a->queries, a->nq, 5, ids, d) != BIHASH_OK) { a->errors++; break; }
        for (size_t q = 0; q < a->nq; q++)
            for (int j = 1; j < 5; j++) {
                uint32_t d0 = d[q * 5 + j - 1], d1 = d[q * 5 + j];
                if (d1 < d0 || (d1 == d0 && ids[q * 5 + j] <= ids[q * 5 + j - 1])) a->errors++;
            }
        a->searches++;
    }
    return NULL;
}

typedef struct {
    bihash_index *index;
    int errors;
} adder_arg;

static void *adder(void *p) {
    adder_arg *a = p;
    uint8_t codes[100 * 8];
    uint64_t ids[100];
    for (int batch = 0; batch < 50; batch++) {
        for (int i = 0; i < 100 * 8; i++) codes[i] = (uint8_t)(frand() * 127 + 128);
        for (int i = 0; i < 100; i++) ids[i] = 1000000 + (uint64_t)batch * 100 + (uint64_t)i;
        if (bihash_index_add(a->index, codes, 100, ids) != BIHASH_OK) a->errors++;
    }
    adding_done = 1;
    return NULL;
}

typedef struct {
    pthread_barrier_t *barrier;
    int which;
    int ok;
} error_arg;

static void *error_thread(void *p) {
    error_arg *a = p;
    bihash_index *index = NULL;
    /* Thread 0 fails with a bad bit count, thread 1 with a bad method; each must see its own message. */
    if (a->which == 0) bihash_index_new(5000, &index);
    else {
        bihash_train_options *o = NULL;
        bihash_train_options_new(&o);
        bihash_train_options_set_method(o, "no-such-method");
        bihash_train_options_free(o);
    }
    pthread_barrier_wait(a->barrier);
    const char *m = bihash_last_error();
    a->ok = a->which == 0 ? (strstr(m, "bihash_index_new") != NULL && strstr(m, "5000") != NULL)
                          : (strstr(m, "no-such-method") != NULL);
    pthread_barrier_wait(a->barrier);
    return NULL;
}

/* Concurrent encodes on one model: thread t encodes its own rows `rounds` times, through bihash_model_encode
 * (even t: feature rows) or bihash_model_encode_pixels (odd t: 8 x 8 x 1 pixel rows, converted to the model's
 * 4 x 4 x 1), and counts the results that differ from the single-threaded codes in `expected`. */
typedef struct {
    const bihash_model *model;
    pthread_barrier_t *barrier;
    int t, rounds;
    const float *rows;
    size_t n;
    const uint8_t *expected;
    size_t bytes;
    int errors;
} encoder_arg;

static void *encoder(void *p) {
    encoder_arg *a = p;
    uint8_t *codes = malloc(a->bytes);
    if (!codes) { a->errors++; return NULL; }
    pthread_barrier_wait(a->barrier);
    for (int r = 0; r < a->rounds; r++) {
        memset(codes, 0xA5, a->bytes);
        int s = a->t % 2 == 0 ? bihash_model_encode(a->model, a->rows, a->n, 16, codes, a->bytes)
                              : bihash_model_encode_pixels(a->model, a->rows, a->n, 8, 8, 1, codes, a->bytes);
        if (s != BIHASH_OK || memcmp(codes, a->expected, a->bytes) != 0) a->errors++;
    }
    free(codes);
    return NULL;
}

/* Runs 8 encoder threads `rounds` times each on `model` (D = 16 = a 4 x 4 x 1 image input); returns the number of
 * wrong or failed encodes. */
static int encode_concurrently(const bihash_model *model, int rounds) {
    enum { T = 8, ROWS = 48 };
    size_t bytes = ROWS * BIHASH_CODE_BYTES(bihash_model_bits(model));
    float *rows = malloc(sizeof(float) * T * ROWS * 64);
    uint8_t *expected = malloc(T * bytes);
    if (!rows || !expected) { free(rows); free(expected); return 1; }
    int errors = 0;
    for (int t = 0; t < T; t++) {
        float *r = rows + (size_t)t * ROWS * 64;
        size_t values = t % 2 == 0 ? ROWS * 16 : ROWS * 64;
        for (size_t i = 0; i < values; i++) r[i] = t % 2 == 0 ? frand() * 2 : (frand() + 1) / 2; /* pixels in [0, 1) */
        int s = t % 2 == 0 ? bihash_model_encode(model, r, ROWS, 16, expected + t * bytes, bytes)
                           : bihash_model_encode_pixels(model, r, ROWS, 8, 8, 1, expected + t * bytes, bytes);
        if (s != BIHASH_OK) errors++;
    }
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, T);
    pthread_t th[T];
    encoder_arg a[T];
    for (int t = 0; t < T; t++) {
        a[t] = (encoder_arg){model, &barrier, t, rounds, rows + (size_t)t * ROWS * 64, ROWS, expected + t * bytes, bytes, 0};
        pthread_create(&th[t], NULL, encoder, &a[t]);
    }
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        errors += a[t].errors;
    }
    pthread_barrier_destroy(&barrier);
    free(rows);
    free(expected);
    return errors;
}

/* ------------------------------------------------------------------------------------------------ */

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: abi_test WORKDIR TABLE.md\n"); return 2; }
    snprintf(dir, sizeof dir, "%s", argv[1]);
    table = fopen(argv[2], "w");
    if (!table) { perror(argv[2]); return 2; }
    fprintf(table, "| bad input | call | status | bihash_last_error() |\n|---|---|---|---|\n");

    /* Versions and status strings. */
    CHECK_TRUE(bihash_version_number() == BIHASH_VERSION_NUMBER);
    CHECK_TRUE(bihash_abi_version() == BIHASH_ABI_VERSION);
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", BIHASH_VERSION_MAJOR, BIHASH_VERSION_MINOR, BIHASH_VERSION_PATCH);
    CHECK_TRUE(strcmp(bihash_version_string(), v) == 0);
    CHECK_TRUE(strcmp(bihash_last_error(), "") == 0);
    const int codes_[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 99};
    const char *names_[] = {"BIHASH_OK", "BIHASH_ERR_INVALID_ARGUMENT", "BIHASH_ERR_INVALID_FORMAT", "BIHASH_ERR_IO",
                            "BIHASH_ERR_NUMERICAL", "BIHASH_ERR_INVALID_STATE", "BIHASH_ERR_LIMIT",
                            "BIHASH_ERR_CANCELLED", "BIHASH_ERR_NOT_SUPPORTED", "BIHASH_ERR_BUFFER_TOO_SMALL",
                            "BIHASH_ERR_INTERNAL"};
    for (int i = 0; i < 11; i++) CHECK_TRUE(strcmp(bihash_status_string(codes_[i]), names_[i]) == 0);
    CHECK_TRUE(strcmp(bihash_status_string(-1), "unknown status") == 0);
    CHECK_TRUE(strcmp(bihash_status_string(10), "unknown status") == 0);
    bihash_free(NULL);

    /* Frees accept NULL. */
    bihash_data_free(NULL);
    bihash_model_free(NULL);
    bihash_train_options_free(NULL);
    bihash_codes_free(NULL);
    bihash_index_free(NULL);
    bihash_results_free(NULL);

    /* Getters on NULL. */
    CHECK_TRUE(bihash_data_rows(NULL) == 0 && bihash_data_cols(NULL) == 0);
    CHECK_TRUE(bihash_data_features(NULL) == NULL && bihash_data_labels(NULL) == NULL);
    CHECK_TRUE(bihash_model_bits(NULL) == 0 && bihash_model_input_dim(NULL) == 0);
    CHECK_TRUE(bihash_codes_count(NULL) == 0 && bihash_codes_bits(NULL) == 0 && bihash_codes_data(NULL) == NULL);
    CHECK_TRUE(bihash_codes_name(NULL, 0) == NULL);
    CHECK_TRUE(bihash_index_count(NULL) == 0 && bihash_index_bits(NULL) == 0);
    CHECK_TRUE(bihash_results_queries(NULL) == 0 && bihash_results_count(NULL, 0) == 0);
    CHECK_TRUE(bihash_results_ids(NULL, 0) == NULL && bihash_results_distances(NULL, 0) == NULL);

    /* ---- Data ---- */
    enum { N = 300, D = 16 };
    static float x[N * D];
    static int32_t y[N];
    for (int i = 0; i < N; i++) {
        y[i] = i % 3;
        for (int j = 0; j < D; j++) x[i * D + j] = frand() + (float)(y[i] == j % 3) * 2.0f;
    }
    bihash_data *data = NULL;
    OK(bihash_data_new(x, N, D, y, &data));
    CHECK_TRUE(bihash_data_rows(data) == N && bihash_data_cols(data) == D);
    CHECK_TRUE(bihash_data_features(data) != NULL && bihash_data_features(data)[5] == x[5]);
    CHECK_TRUE(bihash_data_labels(data) != NULL && bihash_data_labels(data)[4] == y[4]);
    int iw = -1, ih = -1, ic = -1;
    OK(bihash_data_image_shape(data, &iw, &ih, &ic));
    CHECK_TRUE(iw == 0 && ih == 0 && ic == 0);
    bihash_data *dummy = NULL;
    BAD("NULL out", bihash_data_new(x, N, D, y, NULL), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL features with rows·cols > 0", bihash_data_new(NULL, N, D, NULL, &dummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("rows·cols overflows size_t", bihash_data_new(x, SIZE_MAX / 2, 3, NULL, &dummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL source", bihash_data_load(NULL, NULL, &dummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("protocol with an unknown part", bihash_data_load("fashion-mnist", "validation", &dummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("protocol without a part", bihash_data_load("fashion-mnist", NULL, &dummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("missing .npy file", bihash_data_load(path("missing.npy"), NULL, &dummy), BIHASH_ERR_IO);
    BAD("file with a part", bihash_data_load(path("missing.npy"), "train", &dummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("unknown file type", bihash_data_load(path("features.txt"), "", &dummy), BIHASH_ERR_INVALID_ARGUMENT);
    CHECK_TRUE(dummy == NULL);
    /* An image folder with class subdirectories: labels by subdirectory name order, rows in file name order. */
    {
        CHECK_TRUE(mkdir(path("folder"), 0755) == 0 && mkdir(path("folder/b_dog"), 0755) == 0 &&
                   mkdir(path("folder/a_cat"), 0755) == 0);
        CHECK_TRUE(write_png(path("folder/b_dog/1.png"), PNG_FORMAT_RGB, 10, 6, 0) == 0);
        CHECK_TRUE(write_png(path("folder/a_cat/2.png"), PNG_FORMAT_GRAY, 5, 5, 0) == 0);
        CHECK_TRUE(write_png(path("folder/a_cat/1.png"), PNG_FORMAT_RGBA, 7, 9, 0) == 0);
        bihash_data *images = NULL;
        OK(bihash_data_load_images(path("folder"), 8, 4, 3, &images));
        CHECK_TRUE(bihash_data_rows(images) == 3 && bihash_data_cols(images) == 8 * 4 * 3);
        const int32_t *yl = bihash_data_labels(images);
        CHECK_TRUE(yl != NULL && yl[0] == 0 && yl[1] == 0 && yl[2] == 1);
        int fw = 0, fh = 0, fc = 0;
        OK(bihash_data_image_shape(images, &fw, &fh, &fc));
        CHECK_TRUE(fw == 8 && fh == 4 && fc == 3);
        const float *px = bihash_data_features(images);
        int in_range = 1;
        for (size_t i = 0; i < 3 * 8 * 4 * 3; i++) in_range &= px[i] >= 0.0f && px[i] <= 1.0f;
        CHECK_TRUE(in_range);
        bihash_data_free(images);
        BAD("image folder: NULL directory", bihash_data_load_images(NULL, 8, 8, 3, &dummy), BIHASH_ERR_INVALID_ARGUMENT);
        BAD("image folder: NULL out", bihash_data_load_images(path("folder"), 8, 8, 3, NULL), BIHASH_ERR_INVALID_ARGUMENT);
        BAD("image folder: 2 channels", bihash_data_load_images(path("folder"), 8, 8, 2, &dummy), BIHASH_ERR_INVALID_ARGUMENT);
        BAD("image folder: zero width", bihash_data_load_images(path("folder"), 0, 8, 3, &dummy), BIHASH_ERR_INVALID_ARGUMENT);
        BAD("image folder: missing", bihash_data_load_images(path("no-such-folder"), 8, 8, 3, &dummy), BIHASH_ERR_IO);
        CHECK_TRUE(mkdir(path("empty-folder"), 0755) == 0);
        BAD("image folder: no images", bihash_data_load_images(path("empty-folder"), 8, 8, 3, &dummy), BIHASH_ERR_INVALID_ARGUMENT);
        CHECK_TRUE(dummy == NULL);
    }
    /* A .npy float32 matrix and int64 labels written by hand. */
    {
        const char hdr[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }";
        unsigned char buf[256];
        size_t hl = 128 - 10;
        memcpy(buf, "\x93NUMPY\x01\x00", 8);
        buf[8] = (unsigned char)hl; buf[9] = 0;
        memset(buf + 10, ' ', hl);
        memcpy(buf + 10, hdr, strlen(hdr));
        buf[10 + hl - 1] = '\n';
        float vals[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        memcpy(buf + 128, vals, sizeof vals);
        CHECK_TRUE(write_file(path("m.npy"), buf, 128 + sizeof vals) == 0);
        const char lh[] = "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }";
        memset(buf + 10, ' ', hl);
        memcpy(buf + 10, lh, strlen(lh));
        buf[10 + hl - 1] = '\n';
        int64_t labels[4] = {0, 1, 1, 2};
        memcpy(buf + 128, labels, sizeof labels);
        CHECK_TRUE(write_file(path("l.npy"), buf, 128 + sizeof labels) == 0);
        int64_t three[3] = {0, 1, 2};
        const char lh3[] = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
        memset(buf + 10, ' ', hl);
        memcpy(buf + 10, lh3, strlen(lh3));
        buf[10 + hl - 1] = '\n';
        memcpy(buf + 128, three, sizeof three);
        CHECK_TRUE(write_file(path("l3.npy"), buf, 128 + sizeof three) == 0);
        bihash_data *m = NULL;
        OK(bihash_data_load(path("m.npy"), NULL, &m));
        CHECK_TRUE(bihash_data_rows(m) == 4 && bihash_data_cols(m) == 3 && bihash_data_features(m)[11] == 12);
        CHECK_TRUE(bihash_data_labels(m) == NULL);
        OK(bihash_data_load_labels(m, path("l.npy")));
        CHECK_TRUE(bihash_data_labels(m) != NULL && bihash_data_labels(m)[3] == 2);
        BAD("label count ≠ row count", bihash_data_load_labels(m, path("l3.npy")), BIHASH_ERR_INVALID_ARGUMENT);
        BAD("NULL labels path", bihash_data_load_labels(m, NULL), BIHASH_ERR_INVALID_ARGUMENT);
        BAD("NULL data", bihash_data_load_labels(NULL, path("l.npy")), BIHASH_ERR_INVALID_ARGUMENT);
        BAD("NULL data", bihash_data_image_shape(NULL, &iw, &ih, &ic), BIHASH_ERR_INVALID_ARGUMENT);
        BAD("truncated .npy", (write_file(path("t.npy"), buf, 100), bihash_data_load(path("t.npy"), "", &dummy)),
            BIHASH_ERR_INVALID_FORMAT);
        bihash_data_free(m);
    }

    /* ---- Training options ---- */
    bihash_train_options *opt = NULL;
    OK(bihash_train_options_new(&opt));
    BAD("NULL out", bihash_train_options_new(NULL), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("unknown method", bihash_train_options_set_method(opt, "bogus"), BIHASH_ERR_INVALID_ARGUMENT);
    CHECK_TRUE(strstr(bihash_last_error(), "bihalf") != NULL); /* lists the valid names */
    BAD("NULL method", bihash_train_options_set_method(opt, NULL), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL options", bihash_train_options_set_method(NULL, "lsh"), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("unknown recipe", bihash_train_options_set_recipe(opt, "cnn"), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("bits = 0", bihash_train_options_set_bits(opt, 0), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("bits = 4097", bihash_train_options_set_bits(opt, 4097), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("bits = -8", bihash_train_options_set_bits(opt, -8), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("epochs = 0", bihash_train_options_set_epochs(opt, 0), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("batch size = 1", bihash_train_options_set_batch_size(opt, 1), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("unknown optimizer", bihash_train_options_set_optimizer(opt, "lbfgs"), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("learning rate = 0", bihash_train_options_set_learning_rate(opt, 0), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("learning rate = NaN", bihash_train_options_set_learning_rate(opt, NAN), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("weight decay < 0", bihash_train_options_set_weight_decay(opt, -1), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("γ = NaN", bihash_train_options_set_gamma(opt, NAN), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("image input with 2 channels", bihash_train_options_set_image_input(opt, 4, 4, 2), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("image input 0 wide", bihash_train_options_set_image_input(opt, 0, 4, 1), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("Beta a = 0", bihash_train_options_set_beta(opt, 0, 5), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("Beta b = NaN", bihash_train_options_set_beta(opt, 5, NAN), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("contrastive = 2", bihash_train_options_set_contrastive(opt, 2), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL options (beta)", bihash_train_options_set_beta(NULL, 5, 5), BIHASH_ERR_INVALID_ARGUMENT);
    OK(bihash_train_options_set_method(opt, "bihalf"));
    OK(bihash_train_options_set_recipe(opt, "features"));
    OK(bihash_train_options_set_bits(opt, 32));
    OK(bihash_train_options_set_epochs(opt, 2));
    OK(bihash_train_options_set_batch_size(opt, 32));
    OK(bihash_train_options_set_optimizer(opt, "adam"));
    OK(bihash_train_options_set_learning_rate(opt, 1e-3));
    OK(bihash_train_options_set_weight_decay(opt, 0));
    OK(bihash_train_options_set_seed(opt, 7));
    OK(bihash_train_options_set_gamma(opt, -1));
    OK(bihash_train_options_set_gamma(opt, 6));
    OK(bihash_train_options_set_image_input(opt, 4, 4, 1)); /* 16 = D: a 4×4 grayscale image per row */
    OK(bihash_train_options_set_progress(opt, count_epochs, NULL));

    /* ---- Training ---- */
    char buf0[64];
    bihash_model *model = NULL, *mdummy = NULL;
    OK(bihash_train(opt, x, N, D, y, &model));
    CHECK_TRUE(progress_calls == 2);
    CHECK_TRUE(bihash_model_bits(model) == 32 && bihash_model_input_dim(model) == D);
    BAD("NULL options", bihash_train(NULL, x, N, D, NULL, &mdummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL features", bihash_train(opt, NULL, N, D, NULL, &mdummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL out", bihash_train(opt, x, N, D, NULL, NULL), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("n = 0", bihash_train(opt, x, 0, D, NULL, &mdummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("n·dim overflows", bihash_train(opt, x, SIZE_MAX / 4, 8, NULL, &mdummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("image input ≠ dim", bihash_train(opt, x, N / 2, D / 2, NULL, &mdummy), BIHASH_ERR_INVALID_ARGUMENT);
    OK(bihash_train_options_set_image_input(opt, 0, 0, 0));
    int32_t ybad[N];
    memcpy(ybad, y, sizeof ybad);
    ybad[7] = -3;
    BAD("negative label", bihash_train(opt, x, N, D, ybad, &mdummy), BIHASH_ERR_INVALID_ARGUMENT);
    float saved = x[3 * D + 2];
    x[3 * D + 2] = NAN;
    BAD("NaN feature", bihash_train(opt, x, N, D, NULL, &mdummy), BIHASH_ERR_NUMERICAL);
    x[3 * D + 2] = saved;
    int cancels = 0;
    OK(bihash_train_options_set_progress(opt, cancel_at_first, &cancels));
    BAD("progress callback returns 1", bihash_train(opt, x, N, D, NULL, &mdummy), BIHASH_ERR_CANCELLED);
    CHECK_TRUE(cancels == 1);
    OK(bihash_train_options_set_progress(opt, NULL, NULL));
    OK(bihash_train_options_set_method(opt, "itq"));
    BAD("ITQ with K > D", bihash_train(opt, x, N, D, NULL, &mdummy), BIHASH_ERR_INVALID_ARGUMENT);
    /* SDC: Beta parameters, and the contrastive variant, which needs an image input. */
    OK(bihash_train_options_set_method(opt, "sdc"));
    OK(bihash_train_options_set_bits(opt, 8));
    OK(bihash_train_options_set_epochs(opt, 1));
    OK(bihash_train_options_set_batch_size(opt, 8));
    OK(bihash_train_options_set_beta(opt, 2, 2));
    OK(bihash_train_options_set_contrastive(opt, 1));
    BAD("contrastive SDC without an image input", bihash_train(opt, x, N, D, NULL, &mdummy), BIHASH_ERR_INVALID_ARGUMENT);
    OK(bihash_train_options_set_image_input(opt, 4, 4, 1));
    bihash_model *sdc = NULL;
    OK(bihash_train(opt, x, N, D, NULL, &sdc));
    OK(bihash_model_describe(sdc, "method", buf0, sizeof buf0, NULL));
    CHECK_TRUE(strcmp(buf0, "sdc") == 0);
    OK(bihash_train_options_set_contrastive(opt, 0));
    OK(bihash_train_options_set_image_input(opt, 0, 0, 0));
    OK(bihash_train_options_set_method(opt, "lsh"));
    OK(bihash_train_options_set_bits(opt, 16));
    bihash_model *lsh16 = NULL;
    OK(bihash_train(opt, x, N, D, NULL, &lsh16));
    CHECK_TRUE(mdummy == NULL);

    /* ---- Model: describe, fingerprint, encode ---- */
    char buf[4096];
    size_t needed = 0;
    OK(bihash_model_describe(model, "method", buf, sizeof buf, &needed));
    CHECK_TRUE(strcmp(buf, "bihalf") == 0 && needed == 6);
    OK(bihash_model_describe(model, "input", buf, sizeof buf, NULL));
    CHECK_TRUE(strstr(buf, "\"dim\":16") != NULL && strstr(buf, "\"image\"") != NULL);
    OK(bihash_model_describe(model, "arch", buf, sizeof buf, NULL));
    CHECK_TRUE(buf[0] == '[');
    OK(bihash_model_describe(model, "metadata", buf, sizeof buf, NULL));
    CHECK_TRUE(buf[0] == '{');
    char tiny[4];
    BAD("buf_size too small", bihash_model_describe(model, "method", tiny, sizeof tiny, &needed), BIHASH_ERR_BUFFER_TOO_SMALL);
    CHECK_TRUE(strcmp(tiny, "bih") == 0 && needed == 6);
    BAD("unknown `what`", bihash_model_describe(model, "weights", buf, sizeof buf, NULL), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL model", bihash_model_describe(NULL, "method", buf, sizeof buf, NULL), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL buf with buf_size > 0", bihash_model_describe(model, "method", NULL, 10, NULL), BIHASH_ERR_INVALID_ARGUMENT);
    uint8_t fp[BIHASH_FINGERPRINT_BYTES], fp2[BIHASH_FINGERPRINT_BYTES];
    OK(bihash_model_fingerprint(model, fp));
    BAD("NULL out", bihash_model_fingerprint(model, NULL), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("index handle passed as a model", bihash_model_fingerprint((bihash_model *)opt, fp2), BIHASH_ERR_INVALID_ARGUMENT);

    static uint8_t codes[N * 4], codes2[N * 4];
    OK(bihash_model_encode(model, x, N, D, codes, sizeof codes));
    OK(bihash_model_encode(model, x, 0, D, NULL, 0));
    BAD("wrong dim", bihash_model_encode(model, x, N, D - 1, codes2, sizeof codes2), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("codes_capacity too small", bihash_model_encode(model, x, N, D, codes2, sizeof codes2 - 1), BIHASH_ERR_BUFFER_TOO_SMALL);
    BAD("NULL features", bihash_model_encode(model, NULL, N, D, codes2, sizeof codes2), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL codes", bihash_model_encode(model, x, N, D, NULL, sizeof codes2), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL model", bihash_model_encode(NULL, x, N, D, codes2, sizeof codes2), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("n·bytes overflows", bihash_model_encode(model, x, SIZE_MAX / 2, D, codes2, sizeof codes2), BIHASH_ERR_INVALID_ARGUMENT);
    saved = x[5 * D + 1];
    x[5 * D + 1] = INFINITY;
    memset(codes2, 0xAB, sizeof codes2);
    BAD("infinite feature", bihash_model_encode(model, x, N, D, codes2, sizeof codes2), BIHASH_ERR_NUMERICAL);
    CHECK_TRUE(strstr(bihash_last_error(), "row 5") != NULL && codes2[0] == 0); /* buffer cleared on failure */
    x[5 * D + 1] = saved;

    /* ---- Model files ---- */
    OK(bihash_model_save(model, path("model.safetensors")));
    BAD("NULL path", bihash_model_save(model, NULL), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("unwritable directory", bihash_model_save(model, "/nonexistent-dir/m.safetensors"), BIHASH_ERR_IO);
    bihash_model *loaded = NULL;
    OK(bihash_model_load(path("model.safetensors"), &loaded));
    OK(bihash_model_fingerprint(loaded, fp2));
    CHECK_TRUE(memcmp(fp, fp2, sizeof fp) == 0);
    OK(bihash_model_encode(loaded, x, N, D, codes2, sizeof codes2));
    CHECK_TRUE(memcmp(codes, codes2, sizeof codes) == 0);
    OK(bihash_model_describe(loaded, "input", buf, sizeof buf, NULL));
    CHECK_TRUE(strstr(buf, "\"image\":{\"width\":4,\"height\":4,\"channels\":1}") != NULL);
    size_t model_size = 0;
    void *model_bytes = read_file(path("model.safetensors"), &model_size);
    bihash_model *from_memory = NULL;
    OK(bihash_model_load_from_memory(model_bytes, model_size, &from_memory));
    CHECK_TRUE(bihash_model_bits(from_memory) == 32);
    BAD("truncated model (half the bytes)", bihash_model_load_from_memory(model_bytes, model_size / 2, &mdummy), BIHASH_ERR_INVALID_FORMAT);
    BAD("NULL data with size > 0", bihash_model_load_from_memory(NULL, 10, &mdummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("empty buffer", bihash_model_load_from_memory(model_bytes, 0, &mdummy), BIHASH_ERR_INVALID_FORMAT);
    CHECK_TRUE(write_file(path("truncated.safetensors"), model_bytes, model_size - 7) == 0);
    BAD("truncated model file", bihash_model_load(path("truncated.safetensors"), &mdummy), BIHASH_ERR_INVALID_FORMAT);
    ((unsigned char *)model_bytes)[model_size - 1] ^= 0x40; /* flip a weight bit: fingerprint mismatch */
    CHECK_TRUE(write_file(path("corrupt.safetensors"), model_bytes, model_size) == 0);
    BAD("model with a modified weight", bihash_model_load(path("corrupt.safetensors"), &mdummy), BIHASH_ERR_INVALID_FORMAT);
    free(model_bytes);
    BAD("missing model file", bihash_model_load(path("nope.safetensors"), &mdummy), BIHASH_ERR_IO);
    BAD("NULL path", bihash_model_load(NULL, &mdummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL out", bihash_model_load(path("model.safetensors"), NULL), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("a .npy file as a model", bihash_model_load(path("m.npy"), &mdummy), BIHASH_ERR_INVALID_FORMAT);
    CHECK_TRUE(mdummy == NULL);

    /* ---- Image rows of another shape: bihash_model_encode_pixels converts them (area resize) ---- */
    {
        int iw2 = 0, ih2 = 0, ic2 = 0;
        OK(bihash_model_image_shape(model, &iw2, &ih2, &ic2));
        CHECK_TRUE(iw2 == 4 && ih2 == 4 && ic2 == 1);
        int zw = -1;
        OK(bihash_model_image_shape(lsh16, &zw, NULL, NULL));
        CHECK_TRUE(zw == 0);
        BAD("image shape of NULL", bihash_model_image_shape(NULL, &zw, NULL, NULL), BIHASH_ERR_INVALID_ARGUMENT);
        enum { P = 5 };
        static float big[P * 64], small[P * 16];
        for (int i = 0; i < P * 64; i++) big[i] = (float)((i * 7 + (i / 64) * 13) % 256) / 255.0f;
        /* 8×8 → 4×4 area resize = mean of 2×2 blocks, in bihash's order: x pass, then y pass, then / 255. */
        for (int n = 0; n < P; n++)
            for (int yy = 0; yy < 4; yy++)
                for (int xx = 0; xx < 4; xx++) {
                    float r[2];
                    for (int k = 0; k < 2; k++) {
                        const float *row = big + n * 64 + (2 * yy + k) * 8 + 2 * xx;
                        r[k] = 0.5f * (row[0] * 255.0f) + 0.5f * (row[1] * 255.0f);
                    }
                    small[n * 16 + yy * 4 + xx] = (0.5f * r[0] + 0.5f * r[1]) / 255.0f;
                }
        uint8_t direct[P * 4], converted[P * 4];
        OK(bihash_model_encode(model, small, P, 16, direct, sizeof direct));
        OK(bihash_model_encode_pixels(model, big, P, 8, 8, 1, converted, sizeof converted));
        CHECK_TRUE(memcmp(direct, converted, sizeof direct) == 0);
        BAD("pixels: 2 channels", bihash_model_encode_pixels(model, big, P, 8, 8, 2, converted, sizeof converted), BIHASH_ERR_INVALID_ARGUMENT);
        BAD("pixels: NULL rows", bihash_model_encode_pixels(model, NULL, P, 8, 8, 1, converted, sizeof converted), BIHASH_ERR_INVALID_ARGUMENT);
        BAD("pixels: small buffer", bihash_model_encode_pixels(model, big, P, 8, 8, 1, converted, 3), BIHASH_ERR_BUFFER_TOO_SMALL);
        BAD("pixels: model without image input", bihash_model_encode_pixels(lsh16, big, P, 8, 8, 1, converted, sizeof converted), BIHASH_ERR_NOT_SUPPORTED);
        big[3] = 1.5f;
        BAD("pixels: value above 1", bihash_model_encode_pixels(model, big, P, 8, 8, 1, converted, sizeof converted), BIHASH_ERR_INVALID_ARGUMENT);
        /* The same conversion on a data object. */
        big[3] = 0.0f;
        bihash_data *bigdata = NULL, *smalldata = NULL;
        OK(bihash_data_load_images(path("folder"), 8, 8, 1, &bigdata));
        OK(bihash_data_convert_images(bigdata, 4, 4, 1, &smalldata));
        CHECK_TRUE(bihash_data_rows(smalldata) == 3 && bihash_data_cols(smalldata) == 16 && bihash_data_labels(smalldata)[2] == 1);
        int cw = 0, chh = 0, cc = 0;
        OK(bihash_data_image_shape(smalldata, &cw, &chh, &cc));
        CHECK_TRUE(cw == 4 && chh == 4 && cc == 1);
        bihash_data *notimages = NULL, *ddummy = NULL;
        OK(bihash_data_new(x, N, D, NULL, &notimages));
        BAD("convert data without an image shape", bihash_data_convert_images(notimages, 4, 4, 1, &ddummy), BIHASH_ERR_INVALID_ARGUMENT);
        BAD("convert to 0 wide", bihash_data_convert_images(bigdata, 0, 4, 1, &ddummy), BIHASH_ERR_INVALID_ARGUMENT);
        CHECK_TRUE(ddummy == NULL);
        bihash_data_free(notimages);
        bihash_data_free(smalldata);
        bihash_data_free(bigdata);
    }

    /* ---- Backbone options (the training itself is covered by the CLI and Swift tests) ---- */
    {
        bihash_train_options *bo = NULL;
        OK(bihash_train_options_new(&bo));
        BAD("unknown backbone", bihash_train_options_set_backbone(bo, "resnet50", NULL, 0), BIHASH_ERR_INVALID_ARGUMENT);
        BAD("backbone size 16", bihash_train_options_set_backbone(bo, "efficientnet-lite0", NULL, 16), BIHASH_ERR_INVALID_ARGUMENT);
        BAD("missing backbone weights", bihash_train_options_set_backbone(bo, "efficientnet-lite0", path("none.safetensors"), 0), BIHASH_ERR_IO);
        BAD("a bihash model as backbone weights", bihash_train_options_set_backbone(bo, "efficientnet-lite0", path("model.safetensors"), 0), BIHASH_ERR_INVALID_FORMAT);
        OK(bihash_train_options_set_backbone(bo, NULL, NULL, 0));
        OK(bihash_train_options_set_feature_cache(bo, path("cache")));
        OK(bihash_train_options_set_feature_cache(bo, NULL));
        BAD("empty cache directory", bihash_train_options_set_feature_cache(bo, ""), BIHASH_ERR_INVALID_ARGUMENT);
        BAD("NULL options", bihash_train_options_set_backbone(NULL, "efficientnet-lite0", NULL, 0), BIHASH_ERR_INVALID_ARGUMENT);
        bihash_train_options_free(bo);
    }

    /* ---- ONNX export ---- */
    {
        int s = bihash_model_export_onnx(model, path("model.onnx"), BIHASH_EXPORT_PRESIGN);
        CHECK_TRUE(s == BIHASH_OK || s == BIHASH_ERR_NOT_SUPPORTED);
        if (s != BIHASH_OK) fprintf(stderr, "note: ONNX export: %s\n", bihash_last_error());
        BAD("unknown export flag", bihash_model_export_onnx(model, path("x.onnx"), 8), BIHASH_ERR_INVALID_ARGUMENT);
        BAD("unknown export flag 4", bihash_model_export_onnx(model, path("x.onnx"), 4), BIHASH_ERR_INVALID_ARGUMENT);
        /* The model takes 4×4 grey images: an "image" input of any size resized in the graph. */
        OK(bihash_model_export_onnx(model, path("image.onnx"), BIHASH_EXPORT_IMAGE_INPUT | BIHASH_EXPORT_PRESIGN));
        BAD("NULL path", bihash_model_export_onnx(model, NULL, 0), BIHASH_ERR_INVALID_ARGUMENT);
    }

    /* ---- Codes ---- */
    bihash_codes *cs = NULL, *cdummy = NULL;
    const char *item_names[N];
    char name_store[N][24];
    for (int i = 0; i < N; i++) { snprintf(name_store[i], sizeof name_store[i], "item-%03d", i); item_names[i] = name_store[i]; }
    OK(bihash_codes_new(32, codes, N, fp, item_names, &cs));
    CHECK_TRUE(bihash_codes_count(cs) == N && bihash_codes_bits(cs) == 32);
    CHECK_TRUE(memcmp(bihash_codes_data(cs), codes, sizeof codes) == 0);
    CHECK_TRUE(strcmp(bihash_codes_name(cs, 7), "item-007") == 0 && bihash_codes_name(cs, N) == NULL);
    OK(bihash_codes_fingerprint(cs, fp2));
    CHECK_TRUE(memcmp(fp, fp2, sizeof fp) == 0);
    OK(bihash_codes_save(cs, path("codes.bin")));
    OK(bihash_codes_save_npy(cs, path("codes.npy")));
    void *ser = NULL;
    size_t ser_size = 0;
    OK(bihash_codes_serialize(cs, &ser, &ser_size));
    size_t file_size = 0;
    void *file_bytes = read_file(path("codes.bin"), &file_size);
    CHECK_TRUE(ser_size == file_size && memcmp(ser, file_bytes, ser_size) == 0);
    free(file_bytes);
    bihash_free(ser);
    bihash_codes *back = NULL;
    OK(bihash_codes_load(path("codes.bin"), 0, &back));
    CHECK_TRUE(bihash_codes_count(back) == N && strcmp(bihash_codes_name(back, 299), "item-299") == 0);
    bihash_codes_free(back);
    OK(bihash_codes_load(path("codes.npy"), 32, &back));
    CHECK_TRUE(bihash_codes_count(back) == N && memcmp(bihash_codes_data(back), codes, sizeof codes) == 0);
    CHECK_TRUE(bihash_codes_name(back, 3) != NULL && strcmp(bihash_codes_name(back, 3), "item-003") == 0);
    BAD("codes without a fingerprint", bihash_codes_fingerprint(back, fp2), BIHASH_ERR_INVALID_STATE);
    bihash_codes_free(back);
    uint8_t padded[2] = {0xFF, 0xFF};
    BAD("non-zero padding bits (K = 12)", bihash_codes_new(12, padded, 1, NULL, NULL, &cdummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("bits = 0", bihash_codes_new(0, codes, 1, NULL, NULL, &cdummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL codes with n > 0", bihash_codes_new(32, NULL, 3, NULL, NULL, &cdummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("codes file read with another width", bihash_codes_load(path("codes.bin"), 64, &cdummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("a model file as codes", bihash_codes_load(path("model.safetensors"), 0, &cdummy), BIHASH_ERR_INVALID_FORMAT);
    BAD(".npy codes with a wrong width", bihash_codes_load(path("codes.npy"), 16, &cdummy), BIHASH_ERR_INVALID_FORMAT);
    BAD("missing codes file", bihash_codes_load(path("none.bin"), 0, &cdummy), BIHASH_ERR_IO);
    BAD("NULL out", bihash_codes_serialize(cs, NULL, &ser_size), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL codes", bihash_codes_save(NULL, path("c.bin")), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL codes", bihash_codes_save_npy(NULL, path("c.npy")), BIHASH_ERR_INVALID_ARGUMENT);
    CHECK_TRUE(cdummy == NULL);

    /* ---- Index ---- */
    bihash_index *ix = NULL, *idummy = NULL;
    OK(bihash_index_new(32, &ix));
    OK(bihash_index_add(ix, codes, N, NULL));
    CHECK_TRUE(bihash_index_count(ix) == N && bihash_index_bits(ix) == 32);
    BAD("bits = 0", bihash_index_new(0, &idummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("bits = 5000", bihash_index_new(5000, &idummy), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL out", bihash_index_new(32, NULL), BIHASH_ERR_INVALID_ARGUMENT);
    uint64_t id0[1] = {0};
    BAD("id already in the index", bihash_index_add(ix, codes, 1, id0), BIHASH_ERR_INVALID_ARGUMENT);
    uint64_t dup_ids[2] = {5000, 5000};
    BAD("duplicate ids in one batch", bihash_index_add(ix, codes, 2, dup_ids), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL codes with n > 0", bihash_index_add(ix, NULL, 2, NULL), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("n·bytes overflows", bihash_index_add(ix, codes, SIZE_MAX / 2, NULL), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL index", bihash_index_add(NULL, codes, 1, NULL), BIHASH_ERR_INVALID_ARGUMENT);
    OK(bihash_index_add(ix, codes, 0, NULL));
    uint64_t ids[3 * 10];
    uint32_t dist[3 * 10];
    OK(bihash_index_search(ix, codes, 3, 10, ids, dist));
    for (int q = 0; q < 3; q++) CHECK_TRUE(dist[q * 10] == 0); /* each query finds itself (or a twin) at 0 */
    OK(bihash_index_search(ix, codes, 3, 10, ids, NULL));
    BAD("k = 0", bihash_index_search(ix, codes, 3, 0, ids, dist), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL ids", bihash_index_search(ix, codes, 3, 10, NULL, dist), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL queries", bihash_index_search(ix, NULL, 3, 10, ids, dist), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("nq·k overflows", bihash_index_search(ix, codes, 3, SIZE_MAX / 2, ids, dist), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL index", bihash_index_search(NULL, codes, 3, 10, ids, dist), BIHASH_ERR_INVALID_ARGUMENT);
    {
        /* k > N: padded with UINT64_MAX / UINT32_MAX. */
        bihash_index *small = NULL;
        OK(bihash_index_new(32, &small));
        OK(bihash_index_add(small, codes, 4, NULL));
        uint64_t sid[2 * 6];
        uint32_t sd[2 * 6];
        int s = bihash_index_search(small, codes, 2, 6, sid, sd);
        bad("k = 6 > N = 4 (rows padded with UINT64_MAX/UINT32_MAX)", "bihash_index_search(small, codes, 2, 6, ids, d)", s, BIHASH_OK);
        CHECK_TRUE(sid[3] != UINT64_MAX && sid[4] == UINT64_MAX && sd[5] == UINT32_MAX && sid[11] == UINT64_MAX);
        /* Empty index: every row padded. */
        bihash_index *empty = NULL;
        OK(bihash_index_new(32, &empty));
        s = bihash_index_search(empty, codes, 1, 3, sid, sd);
        bad("search an empty index", "bihash_index_search(empty, codes, 1, 3, ids, d)", s, BIHASH_OK);
        CHECK_TRUE(sid[0] == UINT64_MAX && sd[2] == UINT32_MAX);
        bihash_index_free(empty);
        bihash_index_free(small);
    }
    /* Failed searches above filled ids/dist with padding (the documented failure state); the flat scan again: */
    CHECK_TRUE(ids[0] == UINT64_MAX && dist[0] == UINT32_MAX);
    OK(bihash_index_search(ix, codes, 3, 10, ids, dist));
    OK(bihash_index_set_strategy(ix, BIHASH_SEARCH_MIH));
    uint64_t ids_mih[3 * 10];
    uint32_t dist_mih[3 * 10];
    OK(bihash_index_search(ix, codes, 3, 10, ids_mih, dist_mih));
    CHECK_TRUE(memcmp(ids, ids_mih, sizeof ids) == 0 && memcmp(dist, dist_mih, sizeof dist) == 0);
    if (memcmp(ids, ids_mih, sizeof ids) != 0 || memcmp(dist, dist_mih, sizeof dist) != 0) {
        fprintf(stderr, "flat vs MIH (id@distance):");
        for (int i = 0; i < 30; i++)
            fprintf(stderr, " %llu@%u/%llu@%u", (unsigned long long)ids[i], dist[i], (unsigned long long)ids_mih[i], dist_mih[i]);
        fprintf(stderr, "\n");
    }
    OK(bihash_index_set_strategy(ix, BIHASH_SEARCH_FLAT));
    OK(bihash_index_set_strategy(ix, BIHASH_SEARCH_AUTO));
    BAD("unknown strategy", bihash_index_set_strategy(ix, 7), BIHASH_ERR_INVALID_ARGUMENT);
    OK(bihash_index_set_threads(ix, 1));
    OK(bihash_index_set_threads(ix, 0));
    BAD("threads = -1", bihash_index_set_threads(ix, -1), BIHASH_ERR_INVALID_ARGUMENT);

    bihash_results *res = NULL, *rdummy = NULL;
    OK(bihash_index_search_radius(ix, codes, 3, 2, &res));
    CHECK_TRUE(bihash_results_queries(res) == 3);
    for (size_t q = 0; q < 3; q++) {
        size_t c = bihash_results_count(res, q);
        CHECK_TRUE(c >= 1 && bihash_results_ids(res, q) != NULL && bihash_results_distances(res, q)[c - 1] <= 2);
    }
    CHECK_TRUE(bihash_results_count(res, 3) == 0 && bihash_results_ids(res, 3) == NULL && bihash_results_distances(res, 99) == NULL);
    bihash_results_free(res);
    OK(bihash_index_search_radius(ix, codes, 1, 1000000, &res)); /* radius > K is clamped: everything */
    CHECK_TRUE(bihash_results_count(res, 0) == N);
    bihash_results_free(res);
    BAD("NULL out", bihash_index_search_radius(ix, codes, 3, 2, NULL), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL queries", bihash_index_search_radius(ix, NULL, 3, 2, &rdummy), BIHASH_ERR_INVALID_ARGUMENT);

    uint64_t rm[3] = {0, 1, 987654};
    size_t removed = 0;
    OK(bihash_index_remove(ix, rm, 3, &removed));
    CHECK_TRUE(removed == 2 && bihash_index_count(ix) == N - 2);
    OK(bihash_index_remove(ix, rm, 3, NULL));
    BAD("NULL ids with n > 0", bihash_index_remove(ix, NULL, 3, &removed), BIHASH_ERR_INVALID_ARGUMENT);
    OK(bihash_index_compact(ix));
    BAD("NULL index", bihash_index_compact(NULL), BIHASH_ERR_INVALID_ARGUMENT);
    OK(bihash_index_save(ix, path("index.bhi")));
    BAD("NULL path", bihash_index_save(ix, NULL), BIHASH_ERR_INVALID_ARGUMENT);
    bihash_index *opened = NULL;
    OK(bihash_index_open(path("index.bhi"), &opened));
    CHECK_TRUE(bihash_index_count(opened) == N - 2 && bihash_index_bits(opened) == 32);
    OK(bihash_index_search(opened, codes + 4 * 2, 1, 1, ids, dist));
    CHECK_TRUE(ids[0] == 2 && dist[0] == 0);
    OK(bihash_index_add(opened, codes, 1, rm)); /* the first write copies the mapped rows into memory */
    CHECK_TRUE(bihash_index_count(opened) == N - 1);
    BAD("missing index file", bihash_index_open(path("none.bhi"), &idummy), BIHASH_ERR_IO);
    BAD("a codes file as an index", bihash_index_open(path("codes.bin"), &idummy), BIHASH_ERR_INVALID_FORMAT);
    BAD("a model file as an index", bihash_index_open(path("model.safetensors"), &idummy), BIHASH_ERR_INVALID_FORMAT);
    {
        size_t n = 0;
        void *b = read_file(path("index.bhi"), &n);
        CHECK_TRUE(write_file(path("truncated.bhi"), b, n - 9) == 0);
        ((unsigned char *)b)[100] ^= 1;
        CHECK_TRUE(write_file(path("flipped.bhi"), b, n) == 0);
        free(b);
        BAD("truncated index file", bihash_index_open(path("truncated.bhi"), &idummy), BIHASH_ERR_INVALID_FORMAT);
        BAD("index file with a flipped bit (checksum)", bihash_index_open(path("flipped.bhi"), &idummy), BIHASH_ERR_INVALID_FORMAT);
    }
    {
        /* An index of another width: 16-bit index file vs. a 32-bit model. */
        uint8_t c16[N * 2];
        OK(bihash_model_encode(lsh16, x, N, D, c16, sizeof c16));
        bihash_index *i16 = NULL;
        OK(bihash_index_new(16, &i16));
        OK(bihash_index_add(i16, c16, N, NULL));
        OK(bihash_index_save(i16, path("index16.bhi")));
        bihash_index_free(i16);
        OK(bihash_index_open(path("index16.bhi"), &i16));
        CHECK_TRUE(bihash_index_bits(i16) == 16 && bihash_index_bits(i16) != bihash_model_bits(model));
        /* 32-bit codes (4 bytes each) read as 16-bit (2 bytes each): accepted as twice as many codes, so callers
           must compare bihash_index_bits with bihash_model_bits; a 12-bit index rejects them via padding bits. */
        bihash_index *i12 = NULL;
        OK(bihash_index_new(12, &i12));
        uint8_t c12[2] = {0xAB, 0xCF};
        BAD("codes of another width (non-zero padding in a 12-bit index)", bihash_index_add(i12, c12, 1, NULL), BIHASH_ERR_INVALID_ARGUMENT);
        BAD("codes of another width (non-zero padding in 12-bit queries)", bihash_index_search(i12, c12, 1, 1, ids, dist), BIHASH_ERR_INVALID_ARGUMENT);
        bihash_index_free(i12);
        bihash_codes *c16codes = NULL;
        OK(bihash_codes_new(16, c16, N, NULL, NULL, &c16codes));
        OK(bihash_codes_save(c16codes, path("codes16.bin")));
        BAD("16-bit codes file loaded as 32-bit", bihash_codes_load(path("codes16.bin"), 32, &cdummy), BIHASH_ERR_INVALID_ARGUMENT);
        bihash_codes_free(c16codes);
        bihash_index_free(i16);
    }

    /* ---- Evaluation ---- */
    bihash_metrics met = {sizeof(bihash_metrics), 0, 0, 0, 0, 0};
    OK(bihash_evaluate(32, codes, y, 50, codes, y, N, 10, &met));
    CHECK_TRUE(met.map_all > 0 && met.map_all <= 1 && met.precision_at_k > 0 && met.map_at_k <= 1);
    OK(bihash_evaluate(32, codes, y, 50, codes, y, N, 100000, &met)); /* k clamped to the database size */
    bihash_metrics small_met = {8, 0, 0, 0, 0, 0};
    BAD("struct_size too small", bihash_evaluate(32, codes, y, 50, codes, y, N, 10, &small_met), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("k = 0", bihash_evaluate(32, codes, y, 50, codes, y, N, 0, &met), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("nq = 0", bihash_evaluate(32, codes, y, 0, codes, y, N, 10, &met), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL labels", bihash_evaluate(32, codes, NULL, 50, codes, y, N, 10, &met), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("bits = 0", bihash_evaluate(0, codes, y, 50, codes, y, N, 10, &met), BIHASH_ERR_INVALID_ARGUMENT);
    BAD("NULL out", bihash_evaluate(32, codes, y, 50, codes, y, N, 10, NULL), BIHASH_ERR_INVALID_ARGUMENT);

    /* ---- Images ---- */
    {
        bihash_model *img_model = NULL;
        bihash_train_options *io = NULL;
        OK(bihash_train_options_new(&io));
        OK(bihash_train_options_set_method(io, "lsh"));
        OK(bihash_train_options_set_bits(io, 24));
        OK(bihash_train_options_set_image_input(io, 4, 4, 1));
        OK(bihash_train(io, x, N, D, NULL, &img_model));
        bihash_train_options_free(io);
        CHECK_TRUE(write_png(path("gray.png"), PNG_FORMAT_GRAY, 9, 7, 0) == 0);
        CHECK_TRUE(write_png(path("rgba.png"), PNG_FORMAT_RGBA, 30, 20, 0) == 0);
        CHECK_TRUE(write_png(path("palette.png"), PNG_FORMAT_RGB_COLORMAP, 5, 5, 1) == 0);
        CHECK_TRUE(write_png(path("rgb16.png"), PNG_FORMAT_LINEAR_RGB, 3, 3, 0) == 0);
        CHECK_TRUE(write_jpeg(path("rgb.jpg"), TJPF_RGB, TJSAMP_420, 0, 40, 32) == 0);
        CHECK_TRUE(write_jpeg(path("progressive.jpg"), TJPF_RGB, TJSAMP_444, TJFLAG_PROGRESSIVE, 17, 13) == 0);
        CHECK_TRUE(write_jpeg(path("gray.jpg"), TJPF_GRAY, TJSAMP_GRAY, 0, 8, 8) == 0);
        CHECK_TRUE(write_jpeg(path("cmyk.jpg"), TJPF_CMYK, TJSAMP_444, 0, 8, 8) == 0);
        CHECK_TRUE(write_file(path("not-an-image.png"), "hello, world", 12) == 0);
        {
            /* A valid 1×1 PNG whose IHDR is patched to 32768 × 32768 (CRC recomputed): rejected from the header. */
            CHECK_TRUE(write_png(path("one.png"), PNG_FORMAT_GRAY, 1, 1, 0) == 0);
            size_t n = 0;
            unsigned char *png = read_file(path("one.png"), &n);
            CHECK_TRUE(png != NULL && n > 33 && memcmp(png + 12, "IHDR", 4) == 0);
            if (png && n > 33) {
                png[16] = 0; png[17] = 0; png[18] = 0x80; png[19] = 0; /* width 32768 */
                png[20] = 0; png[21] = 0; png[22] = 0x80; png[23] = 0; /* height 32768 */
                uLong crc = crc32(0L, png + 12, 17);
                png[29] = (unsigned char)(crc >> 24); png[30] = (unsigned char)(crc >> 16);
                png[31] = (unsigned char)(crc >> 8); png[32] = (unsigned char)crc;
                CHECK_TRUE(write_file(path("huge.png"), png, n) == 0);
            }
            free(png);
        }
        const char *good[8] = {path("gray.png"), path("rgba.png"), path("palette.png"), path("rgb16.png"),
                               path("rgb.jpg"), path("progressive.jpg"), path("gray.jpg"), path("cmyk.jpg")};
        uint8_t ic_[8 * 3];
        OK(bihash_model_encode_images(img_model, good, 8, ic_, sizeof ic_, NULL));
        const char *mixed[4] = {path("gray.png"), path("not-an-image.png"), path("missing.jpg"), path("huge.png")};
        int okv[4] = {-1, -1, -1, -1};
        uint8_t mc[4 * 3];
        int s = bihash_model_encode_images(img_model, mixed, 4, mc, sizeof mc, okv);
        bad("non-image, missing and 32768² files with an ok array (skipped)", "bihash_model_encode_images(m, mixed, 4, codes, cap, ok)", s, BIHASH_OK);
        CHECK_TRUE(okv[0] == 1 && okv[1] == 0 && okv[2] == 0 && okv[3] == 0 && mc[3] == 0 && mc[4] == 0);
        CHECK_TRUE(strstr(bihash_last_error(), "huge.png") != NULL);
        CHECK_TRUE(memcmp(mc, ic_, 3) == 0);
        BAD("a text file named .png (no ok array)", bihash_model_encode_images(img_model, mixed + 1, 1, mc, sizeof mc, NULL), BIHASH_ERR_INVALID_FORMAT);
        CHECK_TRUE(strstr(bihash_last_error(), "not-an-image.png") != NULL);
        BAD("missing image file", bihash_model_encode_images(img_model, mixed + 2, 1, mc, sizeof mc, NULL), BIHASH_ERR_IO);
        BAD("image header of 32768×32768", bihash_model_encode_images(img_model, mixed + 3, 1, mc, sizeof mc, NULL), BIHASH_ERR_LIMIT);
        BAD("model without an image input", bihash_model_encode_images(lsh16, good, 1, mc, sizeof mc, NULL), BIHASH_ERR_NOT_SUPPORTED);
        BAD("codes_capacity too small", bihash_model_encode_images(img_model, good, 8, ic_, 5, NULL), BIHASH_ERR_BUFFER_TOO_SMALL);
        BAD("NULL paths", bihash_model_encode_images(img_model, NULL, 2, ic_, sizeof ic_, NULL), BIHASH_ERR_INVALID_ARGUMENT);
        const char *nullpath[1] = {NULL};
        BAD("NULL path in the array", bihash_model_encode_images(img_model, nullpath, 1, ic_, sizeof ic_, NULL), BIHASH_ERR_INVALID_ARGUMENT);
        bihash_model_free(img_model);
    }

    /* ---- Last error is thread-local ---- */
    {
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, NULL, 2);
        pthread_t t[2];
        error_arg a[2] = {{&barrier, 0, 0}, {&barrier, 1, 0}};
        for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, error_thread, &a[i]);
        for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
        pthread_barrier_destroy(&barrier);
        CHECK_TRUE(a[0].ok && a[1].ok);
        bad("two threads fail differently; each reads its own bihash_last_error()", "bihash_last_error() on 2 threads",
            a[0].ok && a[1].ok ? BIHASH_OK : BIHASH_ERR_INTERNAL, BIHASH_OK);
    }

    /* ---- 8 searching threads while another adds ---- */
    {
        bihash_index *live = NULL;
        OK(bihash_index_new(64, &live));
        uint8_t init[2000 * 8];
        for (size_t i = 0; i < sizeof init; i++) init[i] = (uint8_t)(frand() * 127 + 128);
        OK(bihash_index_add(live, init, 2000, NULL));
        OK(bihash_index_set_threads(live, 1));
        pthread_t st[8], at;
        searcher_arg sa[8];
        adder_arg aa = {live, 0};
        adding_done = 0;
        for (int i = 0; i < 8; i++) {
            sa[i] = (searcher_arg){live, init + i * 16 * 8, 16, 0, 0};
            pthread_create(&st[i], NULL, searcher, &sa[i]);
        }
        pthread_create(&at, NULL, adder, &aa);
        pthread_join(at, NULL);
        int errors = aa.errors, searches = 0;
        for (int i = 0; i < 8; i++) {
            pthread_join(st[i], NULL);
            errors += sa[i].errors;
            searches += sa[i].searches;
        }
        CHECK_TRUE(errors == 0 && bihash_index_count(live) == 7000);
        char what[160];
        snprintf(what, sizeof what, "8 threads searching (%d searches, k = 5) while 1 thread adds 50 × 100 codes", searches);
        bad(what, "bihash_index_search ∥ bihash_index_add", errors == 0 ? BIHASH_OK : BIHASH_ERR_INTERNAL, BIHASH_OK);
        bihash_index_free(live);
    }

    /* ---- 8 threads encoding on one model (no lock: they run in parallel), against single-threaded codes ---- */
    {
        int bihalf_errors = encode_concurrently(model, 300), sdc_errors = encode_concurrently(sdc, 300);
        CHECK_TRUE(bihalf_errors == 0 && sdc_errors == 0);
        bad("8 threads encoding 48 rows 300 times each on one bi-half model (features or 8×8 pixels)",
            "bihash_model_encode ∥ bihash_model_encode_pixels", bihalf_errors == 0 ? BIHASH_OK : BIHASH_ERR_INTERNAL, BIHASH_OK);
        bad("8 threads encoding 48 rows 300 times each on one SDC model (Linear, GELU, Linear, BatchNorm)",
            "bihash_model_encode ∥ bihash_model_encode_pixels", sdc_errors == 0 ? BIHASH_OK : BIHASH_ERR_INTERNAL, BIHASH_OK);
    }

    bihash_index_free(opened);
    bihash_index_free(ix);
    bihash_codes_free(cs);
    bihash_model_free(from_memory);
    bihash_model_free(loaded);
    bihash_model_free(lsh16);
    bihash_model_free(model);
    bihash_model_free(sdc);
    bihash_train_options_free(opt);
    bihash_data_free(data);
    fclose(table);
    printf("abi_test: %d checks, %d failures\n", checks, failures);
    return failures > 255 ? 255 : failures;
}
