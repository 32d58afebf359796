#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BihashCore
import CJPEG
import CPNG

/// A decoded image: 8-bit samples, row-major, channel-last, `channels` = 1 (gray), 3 (RGB) or 4 (RGBA).
public struct DecodedImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let channels: Int
    /// width · height · channels samples.
    public let pixels: [UInt8]
}

/// Decodes PNG (libpng's simplified `png_image_*` API) and JPEG (TurboJPEG's `tj*` API) files and converts them
/// into a model's input rows.
///
/// Supported: PNG grayscale, gray+alpha, RGB, RGBA, palette and 16-bit (reduced to 8 bits by libpng); JPEG
/// baseline and progressive (Huffman-coded), grayscale, YCbCr and CMYK/YCCK (Adobe-inverted CMYK, converted as
/// R = C·K/255).
///
/// Conversion to an input row (`inputRow`), in this order:
/// 1. **Alpha** is composited on **white**: v' = v·α + 255·(1 − α) (α = alpha/255); images without alpha are as is.
/// 2. **Channels**: 1 channel = luma 0.299·R + 0.587·G + 0.114·B; 3 channels = RGB (gray is replicated).
/// 3. **Resize** to width × height with **area averaging** (each output pixel is the mean of the source area it
///    covers, with fractional overlap weights; OpenCV's INTER_AREA when shrinking, a box filter that blends at
///    pixel boundaries when enlarging), separably in x then y.
/// 4. **Scale** to [0, 1]: value / 255. The row is row-major, channel-last: index (y · width + x) · channels + c.
///
/// Limits are checked from the header **before** any pixel buffer is allocated: each side ≤ `maxSide`, at most
/// `maxPixels` pixels, files at most `maxFileSize` bytes; and, against decompression bombs (a tiny file claiming a
/// huge image), the claimed pixel count must be one the file's size can encode: at most `maxPNGPixelsPerByte`
/// pixels per file byte for PNG (deflate expands at most 1032:1, a pixel takes at least 1 bit) and
/// `maxJPEGPixelsPerByte` for Huffman-coded JPEG, baseline or progressive (every 8×8 block of a scanned component
/// costs at least one bit, components are subsampled at most 4×4). Arithmetic-coded JPEGs, whose size bounds
/// nothing, are not decoded. A truncated JPEG (no end-of-image marker after its last scan) and
/// any JPEG libjpeg warns about (corrupt data, bogus progression) is an error, not an image with its missing part
/// filled in with gray.
///
/// ```swift
/// let row = try ImageDecoder.inputRow(path: "shirt.png", width: 28, height: 28, channels: 1)   // 784 floats
/// ```
///
/// ### See Also
/// `ImageFolder` (directory listing in name order).
public enum ImageDecoder {
    /// Largest accepted width or height.
    public static let maxSide = 16384
    /// Largest accepted width · height.
    public static let maxPixels = 1 << 28
    /// Largest accepted file size in bytes.
    public static let maxFileSize = 1 << 30
    /// Most pixels a PNG may claim per byte of file: 8 pixels per byte at 1 bit per pixel × deflate's 1032:1.
    public static let maxPNGPixelsPerByte = 8 * 1032
    /// Most pixels a Huffman-coded JPEG may claim per byte of file: 8 bits × 64 pixels per block × 16 (4×4
    /// subsampling of the least-sampled component).
    public static let maxJPEGPixelsPerByte = 8 * 64 * 16

    /// Reads and decodes the PNG or JPEG file at `path`.
    /// - Throws: `BihashError.io` (unreadable), `.invalidFormat` (not PNG/JPEG, corrupt), `.limitExceeded` (too
    ///   large); every message names the file.
    public static func decode(path: String) throws -> DecodedImage {
        try decode(bytes: readFile(path), source: "'\(path)'")
    }

    /// Decodes PNG or JPEG bytes; `source` names the input in messages.
    /// - Throws: as `decode(path:)`.
    public static func decode(bytes: [UInt8], source: String = "image data") throws -> DecodedImage {
        if bytes.count >= 8 && bytes[0] == 0x89 && bytes[1] == 0x50 && bytes[2] == 0x4E && bytes[3] == 0x47 {
            return try decodePNG(bytes, source: source)
        }
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF {
            return try decodeJPEG(bytes, source: source)
        }
        throw BihashError.invalidFormat("\(source): not a PNG or JPEG image (unrecognised signature)")
    }

    /// The model input row of the image file at `path`: see the type's documentation for the conversion.
    /// - Throws: as `decode(path:)`; `BihashError.invalidArgument` for a target shape that is not ≥ 1×1 with 1 or 3
    ///   channels.
    public static func inputRow(path: String, width: Int, height: Int, channels: Int) throws -> [Float] {
        try inputRow(decode(path: path), width: width, height: height, channels: channels)
    }

    /// Converts a decoded image into a model input row (composite on white, channels, area resize, / 255).
    /// - Throws: `BihashError.invalidArgument` for a target shape that is not ≥ 1×1 with 1 or 3 channels or that
    ///   exceeds `maxSide`.
    public static func inputRow(_ image: DecodedImage, width: Int, height: Int, channels: Int) throws -> [Float] {
        try require(width >= 1 && height >= 1 && width <= maxSide && height <= maxSide && (channels == 1 || channels == 3),
                    "image input must be 1...\(maxSide) pixels on each side with 1 or 3 channels, got \(width)×\(height)×\(channels)")
        let w = image.width, h = image.height, c = image.channels
        try require(w >= 1 && h >= 1 && (1...4).contains(c) && image.pixels.count == w * h * c,
                    "decoded image must hold width·height·channels samples with 1 to 4 channels, got \(w)×\(h)×\(c) and \(image.pixels.count) samples")
        // 1–3: row by row, composite and convert to floats in [0, 255] (one source row at a time: no buffer of
        // w·h·channels floats, which for the largest accepted image would be 3 GiB), then area-resize along x.
        let xWeights = areaWeights(source: w, target: width)
        let yWeights = areaWeights(source: h, target: height)
        var line = [Float](repeating: 0, count: w * channels)
        var rows = [Float](repeating: 0, count: h * width * channels)
        image.pixels.withUnsafeBufferPointer { src in
            for y in 0..<h {
                for x in 0..<w {
                    let p = y * w + x
                    var r: Float, g: Float, b: Float
                    switch c {
                    case 1, 2: r = Float(src[p * c]); g = r; b = r
                    default: r = Float(src[p * c]); g = Float(src[p * c + 1]); b = Float(src[p * c + 2])
                    }
                    if c == 2 || c == 4 {
                        let a = Float(src[p * c + c - 1]) / 255
                        r = r * a + 255 * (1 - a); g = g * a + 255 * (1 - a); b = b * a + 255 * (1 - a)
                    }
                    if channels == 1 {
                        line[x] = c <= 2 ? r : 0.299 * r + 0.587 * g + 0.114 * b
                    } else {
                        line[x * 3] = r; line[x * 3 + 1] = g; line[x * 3 + 2] = b
                    }
                }
                for x in 0..<width {
                    for (sx, wt) in xWeights[x] {
                        for ch in 0..<channels { rows[(y * width + x) * channels + ch] += wt * line[sx * channels + ch] }
                    }
                }
            }
        }
        var out = [Float](repeating: 0, count: width * height * channels)
        for y in 0..<height {
            for (sy, wt) in yWeights[y] {
                for i in 0..<(width * channels) { out[y * width * channels + i] += wt * rows[sy * width * channels + i] }
            }
        }
        // 4: scale.
        for i in out.indices { out[i] = Swift.min(1, Swift.max(0, out[i] / 255)) }
        return out
    }

    /// For each target index, the source indices it covers and their weights (summing to 1).
    static func areaWeights(source: Int, target: Int) -> [[(Int, Float)]] {
        let scale = Double(source) / Double(target)
        return (0..<target).map { t in
            let lo = Double(t) * scale, hi = Double(t + 1) * scale
            var result: [(Int, Float)] = []
            var s = Int(lo.rounded(.down))
            while Double(s) < hi && s < source {
                let overlap = Swift.min(hi, Double(s + 1)) - Swift.max(lo, Double(s))
                if overlap > 1e-12 { result.append((s, Float(overlap / scale))) }
                s += 1
            }
            return result
        }
    }

    static func checkSize(width: Int, height: Int, source: String) throws {
        guard width >= 1, height >= 1 else {
            throw BihashError.invalidFormat("\(source): image has an empty size \(width)×\(height)")
        }
        guard width <= maxSide, height <= maxSide, width * height <= maxPixels else {
            throw BihashError.limitExceeded("\(source): image is \(width)×\(height); bihash decodes at most \(maxSide) pixels per side and \(maxPixels) pixels")
        }
    }

    /// Rejects (limitExceeded) a header claiming more than `perByte` pixels per byte of the file.
    static func checkDensity(width: Int, height: Int, fileSize: Int, perByte: Int, reason: String, source: String) throws {
        guard width * height <= perByte * fileSize else {
            throw BihashError.limitExceeded("\(source): the header claims \(width)×\(height) pixels but the file has only \(fileSize) bytes, which can encode at most \(perByte * fileSize) (\(reason)): a decompression bomb or a corrupt header")
        }
    }

    /// The start-of-frame marker (0xC0…0xCF except 0xC4, 0xC8, 0xCC) of a JPEG, found by walking the marker
    /// segments from the start; nil if there is none before the first scan or the data ends.
    static func jpegFrameMarker(_ bytes: [UInt8]) -> UInt8? {
        var i = 2
        while i + 4 <= bytes.count {
            guard bytes[i] == 0xFF else { return nil }
            let m = bytes[i + 1]
            if m == 0xFF { i += 1; continue }                       // fill byte
            if m == 0x01 || (0xD0...0xD8).contains(m) { i += 2; continue }  // no length
            if (0xC0...0xCF).contains(m) && m != 0xC4 && m != 0xC8 && m != 0xCC { return m }
            if m == 0xDA || m == 0xD9 { return nil }                // scan or end before a frame
            i += 2 + (Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]))
        }
        return nil
    }

    /// Whether walking the JPEG's segments and entropy-coded scans from the start reaches an end-of-image marker
    /// (0xFFD9). A truncated file never does (inside scan data 0xFF is always followed by 0x00 or a restart
    /// marker, so the walk cannot mistake data for a marker); libjpeg would instead decode it with the missing
    /// part filled in, which bihash refuses.
    static func jpegReachesEndOfImage(_ bytes: [UInt8]) -> Bool {
        let n = bytes.count
        var i = 2
        while i + 1 < n {
            guard bytes[i] == 0xFF else { return false }
            let m = bytes[i + 1]
            if m == 0xFF { i += 1; continue }                                   // fill byte
            if m == 0xD9 { return true }
            if m == 0x01 || (0xD0...0xD8).contains(m) { i += 2; continue }      // markers without a length
            guard i + 3 < n else { return false }
            i += 2 + (Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]))
            if m == 0xDA {
                // Entropy-coded data: up to the next marker that is not a stuffed 0xFF00 or a restart 0xFFD0–D7.
                while i + 1 < n, !(bytes[i] == 0xFF && bytes[i + 1] != 0x00 && !(0xD0...0xD7).contains(bytes[i + 1])) { i += 1 }
            }
        }
        return false
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        guard let f = fopen(path, "rb") else {
            throw BihashError.io("cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        var st = stat()
        guard fstat(fileno(f), &st) == 0 else {
            throw BihashError.io("cannot stat '\(path)': \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw BihashError.io("'\(path)' is not a regular file") }
        let size = Int(st.st_size)
        guard size <= maxFileSize else {
            throw BihashError.limitExceeded("'\(path)' has \(size) bytes; image files may have at most \(maxFileSize)")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        let n = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, size, f) }
        guard n == size else { throw BihashError.io("cannot read '\(path)': short read (\(n) of \(size) bytes)") }
        return bytes
    }

    // MARK: PNG (simplified API: no setjmp)

    static func decodePNG(_ bytes: [UInt8], source: String) throws -> DecodedImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        func message() -> String {
            withUnsafeBytes(of: image.message) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
        let begun = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard begun != 0 else {
            let m = message()
            png_image_free(&image)
            throw BihashError.invalidFormat("\(source): corrupt PNG: \(m)")
        }
        let width = Int(image.width), height = Int(image.height)
        do {
            try checkSize(width: width, height: height, source: source)
            try checkDensity(width: width, height: height, fileSize: bytes.count, perByte: maxPNGPixelsPerByte,
                             reason: "deflate expands at most 1032:1", source: source)
        } catch {
            png_image_free(&image)
            throw error
        }
        let hasColor = image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
        let hasAlpha = image.format & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0
        // 8-bit output: gray, gray+alpha, RGB or RGBA, as the file; libpng expands palettes and reduces 16 bits.
        let channels = (hasColor ? 3 : 1) + (hasAlpha ? 1 : 0)
        image.format = (hasColor ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0) | (hasAlpha ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0)
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        let finished = pixels.withUnsafeMutableBytes {
            png_image_finish_read(&image, nil, $0.baseAddress, Int32(width * channels), nil)
        }
        let m = message()
        png_image_free(&image)
        guard finished != 0 else { throw BihashError.invalidFormat("\(source): corrupt PNG: \(m)") }
        return DecodedImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    // MARK: JPEG (TurboJPEG 2.x API: no setjmp)

    static func decodeJPEG(_ bytes: [UInt8], source: String) throws -> DecodedImage {
        guard let handle = tjInitDecompress() else {
            throw BihashError.io("\(source): cannot initialise TurboJPEG")
        }
        defer { tjDestroy(handle) }
        func message() -> String { tjGetErrorStr2(handle).map { String(cString: $0) } ?? "unknown TurboJPEG error" }
        var w: Int32 = 0, h: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let size = UInt(bytes.count)
        let header = bytes.withUnsafeBufferPointer { tjDecompressHeader3(handle, $0.baseAddress, size, &w, &h, &subsampling, &colorspace) }
        guard header == 0 else { throw BihashError.invalidFormat("\(source): corrupt JPEG: \(message())") }
        let width = Int(w), height = Int(h)
        try checkSize(width: width, height: height, source: source)
        guard jpegReachesEndOfImage(bytes) else {
            throw BihashError.invalidFormat("\(source): truncated JPEG: its data ends before the end-of-image marker")
        }
        // Huffman-coded frames (SOF0–SOF3) spend at least one bit on every block of the components of their first
        // scan (progressive files start each component with a DC scan: anything else is a warning, hence an error
        // below), so their size bounds the pixel count. Arithmetic coding (SOF9–SOF11) can spend far less than a
        // bit per block, so nothing but `maxPixels` would bound it: it is refused (web browsers do not decode it
        // either). A file whose frame header cannot be found by walking its markers has garbage between segments,
        // which libjpeg would only warn about.
        guard let sof = jpegFrameMarker(bytes) else {
            throw BihashError.invalidFormat("\(source): corrupt JPEG: no frame header (SOF) found by walking its markers")
        }
        guard (0xC0...0xC3).contains(sof) else {
            throw BihashError.invalidFormat("\(source): unsupported JPEG coding (frame marker 0xFF\(String(sof, radix: 16, uppercase: true))): bihash decodes Huffman-coded JPEG (baseline, extended, progressive), not arithmetic-coded")
        }
        try checkDensity(width: width, height: height, fileSize: bytes.count, perByte: maxJPEGPixelsPerByte,
                         reason: "a Huffman-coded JPEG spends at least one bit per 8×8 block", source: source)
        let isCMYK = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let isGray = colorspace == Int32(TJCS_GRAY.rawValue)
        let format: TJPF = isCMYK ? TJPF_CMYK : isGray ? TJPF_GRAY : TJPF_RGB
        let decodedChannels = isCMYK ? 4 : isGray ? 1 : 3
        var pixels = [UInt8](repeating: 0, count: width * height * decodedChannels)
        // TJFLAG_LIMITSCANS: more than 500 progressive scans is an error (a CPU-exhaustion input, not a photo).
        // TJFLAG_STOPONWARNING: libjpeg's warnings (data ending early, a bogus progression, extraneous bytes) are
        // errors: libjpeg would fill what is missing with gray, and only the first warning is ever reported, so
        // an innocuous one could hide one that matters.
        let result = bytes.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(handle, src.baseAddress, size, dst.baseAddress, w, 0, h, Int32(format.rawValue),
                              TJFLAG_LIMITSCANS | TJFLAG_STOPONWARNING)
            }
        }
        guard result == 0 else { throw BihashError.invalidFormat("\(source): corrupt JPEG: \(message())") }
        if isCMYK {
            // Adobe-inverted CMYK (what TurboJPEG returns): R = C·K/255, G = M·K/255, B = Y·K/255.
            var rgb = [UInt8](repeating: 0, count: width * height * 3)
            for p in 0..<(width * height) {
                let k = UInt32(pixels[p * 4 + 3])
                for ch in 0..<3 { rgb[p * 3 + ch] = UInt8((UInt32(pixels[p * 4 + ch]) * k + 127) / 255) }
            }
            return DecodedImage(width: width, height: height, channels: 3, pixels: rgb)
        }
        return DecodedImage(width: width, height: height, channels: decodedChannels, pixels: pixels)
    }
}
