// Implementation of bihash_onnx.h over Debian's libonnx 1.12 (ONNX_ML=1, ONNX_NAMESPACE=onnx, see Package.swift).
// Every entry point catches every C++ exception (CONNX_GUARD) so that nothing unwinds into Swift.

#include "bihash_onnx.h"

#include <climits>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>

#include "onnx/checker.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"

struct connx_model {
    onnx::ModelProto proto;
    onnx::NodeProto *last_node = nullptr;
    std::string error;
    std::string serialized;
};

namespace {

// An argument error raised inside an entry point and reported as CONNX_ERROR_ARGUMENT.
struct ArgumentError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string text(const char *s) { return s ? std::string(s) : std::string(); }

void requireString(const char *s, const char *what) {
    if (s == nullptr) throw ArgumentError(std::string(what) + " is NULL");
}

size_t elementSize(int32_t type) {
    switch (type) {
    case CONNX_FLOAT: return 4;
    case CONNX_UINT8: return 1;
    case CONNX_INT64: return 8;
    case CONNX_BOOL: return 1;
    default: throw ArgumentError("unsupported element type " + std::to_string(type));
    }
}

void fillValueInfo(onnx::ValueInfoProto *info, const char *name, int32_t elemType, size_t rank, const int64_t *dims,
                   const char *const *dimParams) {
    requireString(name, "value name");
    elementSize(elemType);
    if (rank > 0 && dims == nullptr) throw ArgumentError(std::string("dims of '") + name + "' is NULL");
    info->set_name(name);
    auto *tensorType = info->mutable_type()->mutable_tensor_type();
    tensorType->set_elem_type(elemType);
    auto *shape = tensorType->mutable_shape();
    for (size_t i = 0; i < rank; ++i) {
        auto *dim = shape->add_dim();
        if (dims[i] >= 0) {
            dim->set_dim_value(dims[i]);
        } else {
            if (dimParams == nullptr || dimParams[i] == nullptr || dimParams[i][0] == '\0')
                throw ArgumentError(std::string("symbolic dimension ") + std::to_string(i) + " of '" + name + "' has no name");
            dim->set_dim_param(dimParams[i]);
        }
    }
}

onnx::AttributeProto *newAttribute(connx_model *m, const char *name) {
    requireString(name, "attribute name");
    if (m->last_node == nullptr) throw ArgumentError(std::string("attribute '") + name + "' set before any node was added");
    auto *attr = m->last_node->add_attribute();
    attr->set_name(name);
    return attr;
}

int fail(connx_model *m, int status, const std::string &message) {
    if (m) {
        try {
            m->error = message;
        } catch (...) {
        }
    }
    return status;
}

}  // namespace

// Runs `body` (returning CONNX_OK) and maps every exception to a status and message.
#define CONNX_GUARD(m, body)                                                                         \
    do {                                                                                             \
        if ((m) == nullptr) return CONNX_ERROR_ARGUMENT;                                             \
        try {                                                                                        \
            (m)->error.clear();                                                                      \
            body;                                                                                    \
            return CONNX_OK;                                                                         \
        } catch (const ArgumentError &e) {                                                           \
            return fail((m), CONNX_ERROR_ARGUMENT, e.what());                                        \
        } catch (const std::bad_alloc &) {                                                           \
            return fail((m), CONNX_ERROR_MEMORY, "out of memory");                                   \
        } catch (const std::exception &e) {                                                          \
            return fail((m), CONNX_ERROR_INTERNAL, e.what());                                        \
        } catch (...) {                                                                              \
            return fail((m), CONNX_ERROR_INTERNAL, "unknown C++ exception");                         \
        }                                                                                            \
    } while (0)

extern "C" {

connx_model *connx_model_create(int64_t ir_version, int64_t opset_version, const char *producer_name,
                                const char *producer_version, const char *graph_name) {
    try {
        auto *m = new connx_model();
        m->proto.set_ir_version(ir_version);
        m->proto.set_producer_name(text(producer_name));
        m->proto.set_producer_version(text(producer_version));
        auto *opset = m->proto.add_opset_import();
        opset->set_domain("");
        opset->set_version(opset_version);
        m->proto.mutable_graph()->set_name(text(graph_name));
        return m;
    } catch (...) {
        return nullptr;
    }
}

void connx_model_free(connx_model *model) { delete model; }

const char *connx_model_last_error(const connx_model *model) {
    if (model == nullptr) return "model handle is NULL";
    return model->error.c_str();
}

int connx_model_set_doc(connx_model *model, const char *doc) {
    CONNX_GUARD(model, {
        requireString(doc, "doc string");
        model->proto.mutable_graph()->set_doc_string(doc);
    });
}

int connx_model_add_metadata(connx_model *model, const char *key, const char *value) {
    CONNX_GUARD(model, {
        requireString(key, "metadata key");
        requireString(value, "metadata value");
        auto *entry = model->proto.add_metadata_props();
        entry->set_key(key);
        entry->set_value(value);
    });
}

int connx_model_add_input(connx_model *model, const char *name, int32_t elem_type, size_t rank, const int64_t *dims,
                          const char *const *dim_params) {
    CONNX_GUARD(model, {
        onnx::ValueInfoProto info;
        fillValueInfo(&info, name, elem_type, rank, dims, dim_params);
        *model->proto.mutable_graph()->add_input() = info;
    });
}

int connx_model_add_output(connx_model *model, const char *name, int32_t elem_type, size_t rank,
                           const int64_t *dims, const char *const *dim_params) {
    CONNX_GUARD(model, {
        onnx::ValueInfoProto info;
        fillValueInfo(&info, name, elem_type, rank, dims, dim_params);
        *model->proto.mutable_graph()->add_output() = info;
    });
}

int connx_model_add_initializer(connx_model *model, const char *name, int32_t elem_type, size_t rank,
                                const int64_t *dims, const void *data, size_t byte_count) {
    CONNX_GUARD(model, {
        requireString(name, "initializer name");
        size_t count = 1;
        if (rank > 0 && dims == nullptr) throw ArgumentError(std::string("dims of initializer '") + name + "' is NULL");
        for (size_t i = 0; i < rank; ++i) {
            if (dims[i] < 0) throw ArgumentError(std::string("initializer '") + name + "' has a negative dimension");
            auto d = static_cast<unsigned long long>(dims[i]);
            if (d != 0 && count > std::numeric_limits<size_t>::max() / d)
                throw ArgumentError(std::string("initializer '") + name + "' is too large");
            count *= static_cast<size_t>(d);
        }
        size_t width = elementSize(elem_type);
        if (count > std::numeric_limits<size_t>::max() / width || count * width != byte_count)
            throw ArgumentError(std::string("initializer '") + name + "': " + std::to_string(byte_count) +
                                " bytes do not match its dimensions");
        if (byte_count > 0 && data == nullptr) throw ArgumentError(std::string("data of initializer '") + name + "' is NULL");
        onnx::TensorProto tensor;
        tensor.set_name(name);
        tensor.set_data_type(elem_type);
        for (size_t i = 0; i < rank; ++i) tensor.add_dims(dims[i]);
        tensor.set_raw_data(byte_count > 0 ? std::string(static_cast<const char *>(data), byte_count) : std::string());
        *model->proto.mutable_graph()->add_initializer() = tensor;
    });
}

int connx_model_add_node(connx_model *model, const char *op_type, const char *name, size_t input_count,
                         const char *const *inputs, size_t output_count, const char *const *outputs) {
    CONNX_GUARD(model, {
        requireString(op_type, "operator type");
        requireString(name, "node name");
        if (input_count > 0 && inputs == nullptr) throw ArgumentError(std::string("inputs of node '") + name + "' is NULL");
        if (output_count > 0 && outputs == nullptr) throw ArgumentError(std::string("outputs of node '") + name + "' is NULL");
        onnx::NodeProto node;
        node.set_op_type(op_type);
        node.set_name(name);
        for (size_t i = 0; i < input_count; ++i) {
            requireString(inputs[i], "node input name");
            node.add_input(inputs[i]);
        }
        for (size_t i = 0; i < output_count; ++i) {
            requireString(outputs[i], "node output name");
            node.add_output(outputs[i]);
        }
        auto *added = model->proto.mutable_graph()->add_node();
        *added = node;
        model->last_node = added;
    });
}

int connx_model_set_attribute_int(connx_model *model, const char *name, int64_t value) {
    CONNX_GUARD(model, {
        auto *attr = newAttribute(model, name);
        attr->set_type(onnx::AttributeProto::INT);
        attr->set_i(value);
    });
}

int connx_model_set_attribute_float(connx_model *model, const char *name, float value) {
    CONNX_GUARD(model, {
        auto *attr = newAttribute(model, name);
        attr->set_type(onnx::AttributeProto::FLOAT);
        attr->set_f(value);
    });
}

int connx_model_set_attribute_ints(connx_model *model, const char *name, size_t count, const int64_t *values) {
    CONNX_GUARD(model, {
        if (count > 0 && values == nullptr) throw ArgumentError("attribute values are NULL");
        auto *attr = newAttribute(model, name);
        attr->set_type(onnx::AttributeProto::INTS);
        for (size_t i = 0; i < count; ++i) attr->add_ints(values[i]);
    });
}

int connx_model_finish(connx_model *model, const uint8_t **out_data, size_t *out_size) {
    if (model == nullptr || out_data == nullptr || out_size == nullptr) {
        if (model) fail(model, CONNX_ERROR_ARGUMENT, "output pointers are NULL");
        return CONNX_ERROR_ARGUMENT;
    }
    *out_data = nullptr;
    *out_size = 0;
    try {
        model->error.clear();
        model->serialized.clear();
        try {
            onnx::checker::check_model(model->proto);
        } catch (const std::bad_alloc &) {
            throw;
        } catch (const std::exception &e) {
            return fail(model, CONNX_ERROR_CHECK, std::string("onnx::checker::check_model: ") + e.what());
        }
        try {
            onnx::ModelProto inferred(model->proto);
            onnx::ShapeInferenceOptions options(/*check_type=*/true, /*strict_mode=*/1, /*data_prop=*/true);
            onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(), options);
        } catch (const std::bad_alloc &) {
            throw;
        } catch (const std::exception &e) {
            return fail(model, CONNX_ERROR_SHAPE_INFERENCE, std::string("onnx::shape_inference::InferShapes (strict): ") + e.what());
        }
        size_t size = model->proto.ByteSizeLong();
        if (size > static_cast<size_t>(INT_MAX))
            return fail(model, CONNX_ERROR_TOO_LARGE,
                        "the model needs " + std::to_string(size) + " bytes, more than protobuf's 2 GiB limit");
        if (!model->proto.SerializeToString(&model->serialized))
            return fail(model, CONNX_ERROR_INTERNAL, "protobuf could not serialise the model");
        *out_data = reinterpret_cast<const uint8_t *>(model->serialized.data());
        *out_size = model->serialized.size();
        return CONNX_OK;
    } catch (const std::bad_alloc &) {
        return fail(model, CONNX_ERROR_MEMORY, "out of memory");
    } catch (const std::exception &e) {
        return fail(model, CONNX_ERROR_INTERNAL, e.what());
    } catch (...) {
        return fail(model, CONNX_ERROR_INTERNAL, "unknown C++ exception");
    }
}

}  // extern "C"
