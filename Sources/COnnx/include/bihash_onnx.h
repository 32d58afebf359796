/*
 * bihash_onnx.h — a small pure-C builder for ONNX models over Debian's libonnx (C++, ONNX 1.12).
 *
 * Internal to bihash (used by the Swift module BihashIO); not part of the public C ABI of include/bihash.h,
 * which is why the symbols are prefixed `connx_` and not `bihash_` (the library's version script exports
 * `bihash_*` only). No stable API.
 *
 * Usage: create a model, declare inputs/outputs/initialisers/nodes (attributes apply to the node added last),
 * then `connx_model_finish` runs onnx::checker::check_model and strict shape inference and serialises the
 * model; the bytes stay owned by the handle until the next finish or `connx_model_free`.
 *
 *     connx_model *m = connx_model_create(8, 17, "bihash", "1", "bihash");
 *     ... connx_model_add_input(m, "features", CONNX_FLOAT, 2, dims, params) ...
 *     const uint8_t *bytes; size_t size;
 *     if (connx_model_finish(m, &bytes, &size) != CONNX_OK) puts(connx_model_last_error(m));
 *     connx_model_free(m);
 *
 * Every function catches every C++ exception; failures return a non-zero `connx_status` and leave a message
 * in `connx_model_last_error(m)`.
 *
 * Thread safety: a handle is used by one thread at a time; different handles are independent.
 */
#ifndef BIHASH_ONNX_H
#define BIHASH_ONNX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An ONNX model under construction (opaque). */
typedef struct connx_model connx_model;

/** Status codes (0 = success). */
typedef enum connx_status {
    CONNX_OK = 0,
    /** An argument is invalid (NULL pointer, bad element type, byte count not matching the dims…). */
    CONNX_ERROR_ARGUMENT = 1,
    /** onnx::checker::check_model rejected the model. */
    CONNX_ERROR_CHECK = 2,
    /** Strict shape inference (onnx::shape_inference::InferShapes, error_mode 1) failed. */
    CONNX_ERROR_SHAPE_INFERENCE = 3,
    /** The model cannot be serialised (larger than protobuf's 2 GiB limit). */
    CONNX_ERROR_TOO_LARGE = 4,
    /** Out of memory. */
    CONNX_ERROR_MEMORY = 5,
    /** Any other C++ exception. */
    CONNX_ERROR_INTERNAL = 6
} connx_status;

/** Element types: the values of onnx.TensorProto.DataType. */
typedef enum connx_elem_type {
    CONNX_FLOAT = 1,
    CONNX_UINT8 = 2,
    CONNX_INT64 = 7,
    CONNX_BOOL = 9
} connx_elem_type;

/**
 * Creates an empty model with the given IR version and default-domain opset.
 * @param producer_name, producer_version, graph_name  NUL-terminated strings (copied); NULL means "".
 * @return a handle to free with `connx_model_free`, or NULL when out of memory.
 */
connx_model *connx_model_create(int64_t ir_version, int64_t opset_version, const char *producer_name,
                                const char *producer_version, const char *graph_name);

/** Frees a model and any bytes returned by `connx_model_finish`. Accepts NULL. */
void connx_model_free(connx_model *model);

/**
 * The message of the last failed call on `model` (empty if none); owned by the handle, valid until the next
 * call on it. Returns a static string for NULL.
 */
const char *connx_model_last_error(const connx_model *model);

/** Sets the graph's doc_string. */
int connx_model_set_doc(connx_model *model, const char *doc);

/** Appends a metadata_props entry (key, value). */
int connx_model_add_metadata(connx_model *model, const char *key, const char *value);

/**
 * Declares a graph input (`connx_model_add_input`) or output (`connx_model_add_output`): a tensor of
 * `elem_type` with `rank` dimensions. `dims[i] >= 0` is a fixed size; `dims[i] < 0` is symbolic, named by
 * `dim_params[i]` (a NUL-terminated string). `dims` has `rank` entries; `dim_params` may be NULL when every
 * dimension is fixed, else it has `rank` entries (entries of fixed dimensions are ignored and may be NULL).
 */
int connx_model_add_input(connx_model *model, const char *name, int32_t elem_type, size_t rank, const int64_t *dims,
                          const char *const *dim_params);
/** See `connx_model_add_input`. */
int connx_model_add_output(connx_model *model, const char *name, int32_t elem_type, size_t rank,
                           const int64_t *dims, const char *const *dim_params);

/**
 * Adds an initialiser (a constant tensor) of `elem_type` with fixed `dims` (`rank` entries, each >= 0;
 * rank 0 = scalar). `data` holds `byte_count` bytes of little-endian elements in row-major order, copied;
 * `byte_count` must equal the element count times the element size.
 */
int connx_model_add_initializer(connx_model *model, const char *name, int32_t elem_type, size_t rank,
                                const int64_t *dims, const void *data, size_t byte_count);

/**
 * Appends a node of operator `op_type` (default domain) named `name`, with `input_count` input names and
 * `output_count` output names (arrays of NUL-terminated strings; an empty input name marks an omitted
 * optional input).
 */
int connx_model_add_node(connx_model *model, const char *op_type, const char *name, size_t input_count,
                         const char *const *inputs, size_t output_count, const char *const *outputs);

/** Sets an INT attribute on the node added last. */
int connx_model_set_attribute_int(connx_model *model, const char *name, int64_t value);
/** Sets a FLOAT attribute on the node added last. */
int connx_model_set_attribute_float(connx_model *model, const char *name, float value);
/** Sets an INTS attribute (`count` values) on the node added last. */
int connx_model_set_attribute_ints(connx_model *model, const char *name, size_t count, const int64_t *values);

/**
 * Checks the model (onnx::checker::check_model), runs strict shape inference on a copy
 * (check_type = true, error_mode = 1, data propagation on; every inferred output type and shape must agree with
 * the declared ones), then serialises it.
 * @param out_data  receives a pointer to the serialised ModelProto, owned by `model` and valid until the next
 *                  `connx_model_finish` or `connx_model_free`.
 * @param out_size  receives its size in bytes.
 */
int connx_model_finish(connx_model *model, const uint8_t **out_data, size_t *out_size);

#ifdef __cplusplus
}
#endif

#endif /* BIHASH_ONNX_H */
