// Compile-time proof that every thunk has exactly the C signature declared in include/bihash.h: each imported
// declaration (a `@convention(c)` function value) is overwritten with the Swift thunk, which type-checks only when
// parameter and return types match. Generated from the header's BIHASH_API list; never called.

import CBihashABI

/// Type-checks every thunk against its header declaration (see the file comment).
@inline(never)
func headerSignatureCheck() -> Int {
    var checked = 0
    do { var f = CBihashABI.bihash_abi_version; f = bihashV1_abi_version; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_codes_bits; f = bihashV1_codes_bits; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_codes_count; f = bihashV1_codes_count; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_codes_data; f = bihashV1_codes_data; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_codes_fingerprint; f = bihashV1_codes_fingerprint; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_codes_free; f = bihashV1_codes_free; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_codes_load; f = bihashV1_codes_load; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_codes_name; f = bihashV1_codes_name; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_codes_new; f = bihashV1_codes_new; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_codes_save; f = bihashV1_codes_save; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_codes_save_npy; f = bihashV1_codes_save_npy; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_codes_serialize; f = bihashV1_codes_serialize; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_data_cols; f = bihashV1_data_cols; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_data_features; f = bihashV1_data_features; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_data_free; f = bihashV1_data_free; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_data_image_shape; f = bihashV1_data_image_shape; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_data_labels; f = bihashV1_data_labels; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_data_load; f = bihashV1_data_load; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_data_load_images; f = bihashV1_data_load_images; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_data_load_labels; f = bihashV1_data_load_labels; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_data_new; f = bihashV1_data_new; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_data_rows; f = bihashV1_data_rows; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_evaluate; f = bihashV1_evaluate; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_free; f = bihashV1_free; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_index_add; f = bihashV1_index_add; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_index_bits; f = bihashV1_index_bits; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_index_compact; f = bihashV1_index_compact; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_index_count; f = bihashV1_index_count; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_index_free; f = bihashV1_index_free; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_index_new; f = bihashV1_index_new; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_index_open; f = bihashV1_index_open; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_index_remove; f = bihashV1_index_remove; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_index_save; f = bihashV1_index_save; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_index_search; f = bihashV1_index_search; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_index_search_radius; f = bihashV1_index_search_radius; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_index_set_strategy; f = bihashV1_index_set_strategy; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_index_set_threads; f = bihashV1_index_set_threads; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_last_error; f = bihashV1_last_error; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_model_bits; f = bihashV1_model_bits; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_model_describe; f = bihashV1_model_describe; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_model_encode; f = bihashV1_model_encode; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_model_encode_images; f = bihashV1_model_encode_images; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_model_export_onnx; f = bihashV1_model_export_onnx; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_model_fingerprint; f = bihashV1_model_fingerprint; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_model_free; f = bihashV1_model_free; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_model_input_dim; f = bihashV1_model_input_dim; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_model_load; f = bihashV1_model_load; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_model_load_from_memory; f = bihashV1_model_load_from_memory; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_model_save; f = bihashV1_model_save; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_results_count; f = bihashV1_results_count; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_results_distances; f = bihashV1_results_distances; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_results_free; f = bihashV1_results_free; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_results_ids; f = bihashV1_results_ids; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_results_queries; f = bihashV1_results_queries; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_status_string; f = bihashV1_status_string; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train; f = bihashV1_train; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_free; f = bihashV1_train_options_free; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_new; f = bihashV1_train_options_new; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_set_batch_size; f = bihashV1_train_options_set_batch_size; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_set_bits; f = bihashV1_train_options_set_bits; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_set_epochs; f = bihashV1_train_options_set_epochs; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_set_beta; f = bihashV1_train_options_set_beta; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_set_contrastive; f = bihashV1_train_options_set_contrastive; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_set_gamma; f = bihashV1_train_options_set_gamma; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_set_image_input; f = bihashV1_train_options_set_image_input; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_set_learning_rate; f = bihashV1_train_options_set_learning_rate; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_set_method; f = bihashV1_train_options_set_method; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_set_optimizer; f = bihashV1_train_options_set_optimizer; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_set_progress; f = bihashV1_train_options_set_progress; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_set_recipe; f = bihashV1_train_options_set_recipe; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_set_seed; f = bihashV1_train_options_set_seed; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_set_weight_decay; f = bihashV1_train_options_set_weight_decay; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_version_number; f = bihashV1_version_number; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_version_string; f = bihashV1_version_string; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_data_convert_images; f = bihashV1_data_convert_images; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_model_image_shape; f = bihashV1_model_image_shape; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_set_backbone; f = bihashV1_train_options_set_backbone; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_train_options_set_feature_cache; f = bihashV1_train_options_set_feature_cache; withExtendedLifetime(f) { checked += 1 } }
    do { var f = CBihashABI.bihash_model_encode_pixels; f = bihashV1_model_encode_pixels; withExtendedLifetime(f) { checked += 1 } }
    return checked
}
