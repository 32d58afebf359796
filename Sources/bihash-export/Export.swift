import ArgumentParser
import CBihashABI
import Foundation

/// `bihash-export`: writes a model as ONNX and/or re-saves its weights file, through the C ABI.
@main
struct BihashExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bihash-export",
        abstract: "Export a bihash model as ONNX (packed uint8 codes) and/or as a weights file (safetensors).")

    @Option(help: "Model file (safetensors).")
    var model: String

    @Option(help: "ONNX file to write: input \"features\" float [batch, D], output \"codes\" uint8 [batch, ceil(K/8)].")
    var onnx: String?

    @Option(help: "Weights file (safetensors) to write.")
    var weights: String?

    @Flag(help: "Add the float output \"presign\" [batch, K] to the ONNX graph.")
    var floatOutput = false

    @Flag(help: "Input \"image\" uint8 [batch, height, width, C] of any size, resized in the graph (models trained on images).")
    var imageInput = false

    func validate() throws {
        if onnx == nil && weights == nil { throw ValidationError("give --onnx FILE and/or --weights FILE") }
        if floatOutput && onnx == nil { throw ValidationError("--float-output needs --onnx") }
        if imageInput && onnx == nil { throw ValidationError("--image-input needs --onnx") }
    }

    func run() throws {
        var model: OpaquePointer?
        try check(bihash_model_load(self.model, &model), self.model)
        defer { bihash_model_free(model) }
        if let onnx {
            let flags = (floatOutput ? Int32(BIHASH_EXPORT_PRESIGN) : 0) | (imageInput ? Int32(BIHASH_EXPORT_IMAGE_INPUT) : 0)
            try check(bihash_model_export_onnx(model, onnx, flags), onnx)
        }
        if let weights { try check(bihash_model_save(model, weights), weights) }
    }

    /// A `Failure` becomes one `bihash: <message>` line on stderr and exit status 1.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as Failure {
            FileHandle.standardError.write(Data("bihash: \(failure.message)\n".utf8))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}

/// A runtime failure carrying the library's message.
struct Failure: Error {
    let message: String
}

/// Throws a `Failure` with `bihash_last_error()` (prefixed by `context`) unless `status` is BIHASH_OK.
func check(_ status: Int32, _ context: String) throws {
    guard status == 0 else {
        let message = String(cString: bihash_last_error())
        let text = message.isEmpty ? String(cString: bihash_status_string(status)) : message
        throw Failure(message: text.contains(context) ? text : "\(context): \(text)")
    }
}
