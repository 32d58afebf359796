/*
 * example.c — libbihash from C: train a bi-half model on Fashion-MNIST pixels, encode, index, search, evaluate.
 *
 *   make PREFIX=/usr/local run          (see the Makefile; needs `apt-get install dataset-fashion-mnist`)
 *   ./example [TRAIN_ROWS [QUERY_ROWS [EPOCHS]]]     defaults: 5000 1000 3
 *
 * The first TRAIN_ROWS rows of the "train" part are both the training set and the database; the first QUERY_ROWS
 * rows of the "query" part are the queries. Output: the library version, one line per epoch, the 10 nearest
 * database items of the first 3 queries (id:label@distance), and mAP@All / mAP@100 / P@100 / P@H<=2.
 * Every object is freed, so the program runs clean under AddressSanitizer's leak checker.
 */
#include <bihash.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BITS 32
#define K 10

static int on_epoch(const bihash_progress *p, void *user_data) {
    (void)user_data;
    printf("epoch %d/%d  loss %.4f  lr %.2g\n", p->epoch, p->epochs, p->loss, p->learning_rate);
    return 0; /* 0 = continue */
}

/* Prints the failed call and the library's message, then jumps to cleanup. */
#define CHECK(call)                                                                                  \
    do {                                                                                             \
        int status_ = (call);                                                                        \
        if (status_ != BIHASH_OK) {                                                                  \
            fprintf(stderr, "%s failed: %s: %s\n", #call, bihash_status_string(status_),             \
                    bihash_last_error());                                                            \
            goto done;                                                                               \
        }                                                                                            \
    } while (0)

static size_t arg(int argc, char **argv, int i, size_t fallback) {
    if (argc <= i) return fallback;
    long v = strtol(argv[i], NULL, 10);
    return v > 0 ? (size_t)v : fallback;
}

int main(int argc, char **argv) {
    size_t train_rows = arg(argc, argv, 1, 5000), query_rows = arg(argc, argv, 2, 1000);
    int epochs = (int)arg(argc, argv, 3, 3);
    const char *save_dir = argc > 4 ? argv[4] : NULL; /* optional: save the model, query codes and index there */
    int exit_code = 1;
    bihash_data *train = NULL, *query = NULL;
    bihash_train_options *options = NULL;
    bihash_model *model = NULL;
    bihash_index *index = NULL;
    bihash_codes *saved_queries = NULL;
    uint8_t *db_codes = NULL, *q_codes = NULL;
    uint64_t *ids = NULL;
    uint32_t *distances = NULL;

    if (bihash_version_number() != BIHASH_VERSION_NUMBER) {
        fprintf(stderr, "header %d and library %d disagree\n", BIHASH_VERSION_NUMBER, bihash_version_number());
        return 1;
    }
    printf("libbihash %s (ABI %d)\n", bihash_version_string(), bihash_abi_version());

    CHECK(bihash_data_load("fashion-mnist", "train", &train));
    CHECK(bihash_data_load("fashion-mnist", "query", &query));
    size_t dim = bihash_data_cols(train);
    if (train_rows > bihash_data_rows(train)) train_rows = bihash_data_rows(train);
    if (query_rows > bihash_data_rows(query)) query_rows = bihash_data_rows(query);
    const float *x = bihash_data_features(train), *xq = bihash_data_features(query);
    const int32_t *y = bihash_data_labels(train), *yq = bihash_data_labels(query);
    int width = 0, height = 0, channels = 0;
    CHECK(bihash_data_image_shape(train, &width, &height, &channels));
    printf("data: %zu train rows, %zu queries, %zu features (%dx%dx%d images)\n", train_rows, query_rows, dim,
           width, height, channels);

    CHECK(bihash_train_options_new(&options));
    CHECK(bihash_train_options_set_method(options, "bihalf"));
    CHECK(bihash_train_options_set_recipe(options, "features"));
    CHECK(bihash_train_options_set_bits(options, BITS));
    CHECK(bihash_train_options_set_epochs(options, epochs));
    CHECK(bihash_train_options_set_seed(options, 42));
    CHECK(bihash_train_options_set_image_input(options, width, height, channels));
    CHECK(bihash_train_options_set_progress(options, on_epoch, NULL));
    CHECK(bihash_train(options, x, train_rows, dim, y, &model));

    size_t code_bytes = BIHASH_CODE_BYTES(bihash_model_bits(model));
    db_codes = malloc(train_rows * code_bytes);
    q_codes = malloc(query_rows * code_bytes);
    ids = malloc(query_rows * K * sizeof *ids);
    distances = malloc(query_rows * K * sizeof *distances);
    if (!db_codes || !q_codes || !ids || !distances) { fprintf(stderr, "out of memory\n"); goto done; }
    CHECK(bihash_model_encode(model, x, train_rows, dim, db_codes, train_rows * code_bytes));
    CHECK(bihash_model_encode(model, xq, query_rows, dim, q_codes, query_rows * code_bytes));

    CHECK(bihash_index_new(BITS, &index));
    CHECK(bihash_index_add(index, db_codes, train_rows, NULL)); /* ids 0, 1, ... = database rows */
    CHECK(bihash_index_search(index, q_codes, query_rows, K, ids, distances));
    printf("index: %zu items of %d bits\n", bihash_index_count(index), bihash_index_bits(index));
    for (size_t q = 0; q < 3 && q < query_rows; q++) {
        printf("query %zu (label %d):", q, yq[q]);
        for (size_t j = 0; j < K; j++) {
            uint64_t id = ids[q * K + j];
            printf(" %llu:%d@%u", (unsigned long long)id, id < train_rows ? y[id] : -1, distances[q * K + j]);
        }
        printf("\n");
    }

    if (save_dir) {
        /* The same files the CLI reads: `bihash search --index DIR/index.bhi --queries DIR/queries.bin -k 10`
         * prints the neighbours above, and `bihash info DIR/model.safetensors` describes the model. */
        char path[4096];
        uint8_t fingerprint[BIHASH_FINGERPRINT_BYTES];
        CHECK(bihash_model_fingerprint(model, fingerprint));
        snprintf(path, sizeof path, "%s/model.safetensors", save_dir);
        CHECK(bihash_model_save(model, path));
        snprintf(path, sizeof path, "%s/index.bhi", save_dir);
        CHECK(bihash_index_save(index, path));
        CHECK(bihash_codes_new(BITS, q_codes, query_rows, fingerprint, NULL, &saved_queries));
        snprintf(path, sizeof path, "%s/queries.bin", save_dir);
        CHECK(bihash_codes_save(saved_queries, path));
        printf("saved model.safetensors, index.bhi and queries.bin in %s\n", save_dir);
    }

    bihash_metrics metrics;
    memset(&metrics, 0, sizeof metrics);
    metrics.struct_size = sizeof metrics;
    CHECK(bihash_evaluate(BITS, q_codes, yq, query_rows, db_codes, y, train_rows, 100, &metrics));
    printf("mAP@All %.4f  mAP@100 %.4f  P@100 %.4f  P@H<=2 %.4f\n", metrics.map_all, metrics.map_at_k,
           metrics.precision_at_k, metrics.precision_radius2);
    exit_code = 0;

done:
    bihash_codes_free(saved_queries);
    free(distances);
    free(ids);
    free(q_codes);
    free(db_codes);
    bihash_index_free(index);
    bihash_model_free(model);
    bihash_train_options_free(options);
    bihash_data_free(query);
    bihash_data_free(train);
    return exit_code;
}
