import ArgumentParser
import CBihashABI
import Foundation

/// `bihash info`: describes a model, codes, index or `.npy` file.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a bihash file: model, codes, index or .npy array.",
        discussion: "A .npy file is recognised by its magic; other files are tried as a model, codes and an index.")

    @Argument(help: "The file to describe.")
    var file: String

    func run() throws {
        guard FileManager.default.fileExists(atPath: file) else { throw Failure("\(file): no such file") }
        if let header = npyHeader() {
            describeNpy(header)
            return
        }
        var model: OpaquePointer?
        let modelStatus = bihash_model_load(file, &model)
        if modelStatus == 0, let model {
            defer { bihash_model_free(model) }
            try describeModel(model)
            return
        }
        let modelError = String(cString: bihash_last_error())
        var codes: OpaquePointer?
        if bihash_codes_load(file, 0, &codes) == 0, let codes {
            defer { bihash_codes_free(codes) }
            describeCodes(codes, kind: "codes file")
            return
        }
        let codesError = String(cString: bihash_last_error())
        var index: OpaquePointer?
        if bihash_index_open(file, &index) == 0, let index {
            defer { bihash_index_free(index) }
            print("\(file): index")
            print("  bits   \(bihash_index_bits(index))")
            print("  count  \(bihash_index_count(index))")
            let names = file + ".names"
            if FileManager.default.fileExists(atPath: names) { print("  names  \(names)") }
            return
        }
        let indexError = String(cString: bihash_last_error())
        throw Failure("\(file): not a bihash model, codes, index or .npy file (as a model: \(modelError); "
                      + "as codes: \(codesError); as an index: \(indexError))")
    }

    func describeModel(_ model: OpaquePointer) throws {
        print("\(file): model")
        print("  method       \(try describe(model, "method"))")
        print("  bits         \(bihash_model_bits(model))")
        print("  input dim    \(bihash_model_input_dim(model))")
        print("  input        \(try describe(model, "input"))")
        print("  backbone     \(try describe(model, "backbone"))")
        print("  arch         \(try describe(model, "arch"))")
        print("  metadata     \(try describe(model, "metadata"))")
        print("  fingerprint  \(hex(try fingerprint(of: model)))")
    }

    func describeCodes(_ codes: OpaquePointer, kind: String) {
        let count = bihash_codes_count(codes)
        print("\(file): \(kind)")
        print("  bits         \(bihash_codes_bits(codes))")
        print("  count        \(count)")
        print("  fingerprint  \(fingerprint(ofCodes: codes).map(hex) ?? "none")")
        if count > 0, let first = bihash_codes_name(codes, 0) {
            print("  names        yes (first: \(String(cString: first)))")
        } else {
            print("  names        no")
        }
    }

    /// The header dictionary of a `.npy` file (after the "\x93NUMPY" magic), or nil for other files.
    func npyHeader() -> String? {
        guard let handle = FileHandle(forReadingAtPath: file) else { return nil }
        defer { try? handle.close() }
        let prefix = [UInt8](handle.readData(ofLength: 12))
        guard prefix.count >= 10, prefix[0] == 0x93, Array(prefix[1..<6]) == Array("NUMPY".utf8) else { return nil }
        let major = prefix[6]
        let length = major == 1 ? Int(prefix[8]) | Int(prefix[9]) << 8
            : prefix.count >= 12 ? Int(prefix[8]) | Int(prefix[9]) << 8 | Int(prefix[10]) << 16 | Int(prefix[11]) << 24 : 0
        let start = major == 1 ? 10 : 12
        guard length > 0, length < 1 << 20 else { return nil }
        try? handle.seek(toOffset: UInt64(start))
        let header = handle.readData(ofLength: length)
        return String(decoding: header, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func describeNpy(_ header: String) {
        print("\(file): .npy array")
        print("  header  \(header)")
        var codes: OpaquePointer?
        if bihash_codes_load(file, 0, &codes) == 0, let codes {
            defer { bihash_codes_free(codes) }
            print("  as codes: \(bihash_codes_count(codes)) codes of \(bihash_codes_bits(codes)) bits"
                  + (bihash_codes_name(codes, 0) != nil ? ", names in \(file).names" : ""))
            return
        }
        var data: OpaquePointer?
        if bihash_data_load(file, nil, &data) == 0, let data {
            defer { bihash_data_free(data) }
            print("  as features: \(bihash_data_rows(data)) rows × \(bihash_data_cols(data)) columns")
        }
    }
}
