import CZlib
import Foundation
import Images
import Networks
import Search
import Similarity
import Tensors

/// The generated part of the seed corpora (`akin-fuzz seeds FOLDER`, run by
/// scripts/make_fuzz_seeds.sh, which adds the odd images Pillow writes): small valid files of
/// each format, and the same cut short, emptied or declaring huge sizes.
public enum FuzzSeeds {
    public static func write(to folder: String) throws {
        var seeds: [(FuzzTarget, String, Data)] = []
        for (name, data) in try images() { seeds.append((.image, name, data)) }
        for (name, data) in npy() { seeds.append((.npy, name, data)) }
        for (name, data) in try models() { seeds.append((.model, name, data.safetensors)); seeds.append((.onnx, name, data.onnx)) }
        for (name, data) in idx() { seeds.append((.idx, name, data)) }
        for (name, data) in indexes() { seeds.append((.index, name, data)) }
        for (name, data) in galleryEdits() { seeds.append((.gallery, name, data)) }
        for (name, data) in galleryRows() { seeds.append((.galleryRows, name, data)) }
        for (target, name, data) in seeds {
            let directory = "\(folder)/\(target.rawValue)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: "\(directory)/\(name)"))
        }
    }

    /// A gradient with some texture, so that compression has something to keep.
    static func picture(width: Int, height: Int, channels: Int) -> Image {
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels { pixels[(y * width + x) * channels + c] = UInt8(truncatingIfNeeded: x * 37 + y * 11 + c * 80 + (x ^ y) * 3) }
            }
        }
        return Image(width: width, height: height, channels: channels, pixels: pixels)
    }

    static func images() throws -> [(String, Data)] {
        var seeds: [(String, Data)] = [("empty", Data())]
        for (width, height, channels) in [(1, 1, 1), (17, 9, 3), (40, 30, 1), (64, 48, 3)] {
            let image = picture(width: width, height: height, channels: channels)
            let name = "\(width)x\(height)x\(channels)"
            let png = try ImageEncoder.png(image), jpeg = try ImageEncoder.jpeg(image, quality: 80)
            seeds += [("\(name).png", png), ("\(name).jpg", jpeg),
                      ("\(name)-cut.png", png.prefix(png.count / 2)), ("\(name)-cut.jpg", jpeg.prefix(jpeg.count / 2))]
        }
        let jpeg = try ImageEncoder.jpeg(picture(width: 17, height: 9, channels: 3))
        seeds.append(("huge-declared.jpg", jpegDeclaring(jpeg, width: 65000, height: 65000)))
        seeds.append(("huge-declared.png", pngDeclaring(try ImageEncoder.png(picture(width: 17, height: 9, channels: 3)), width: 65000, height: 65000)))
        seeds.append(("only-magic.jpg", Data([0xFF, 0xD8, 0xFF])))
        seeds.append(("only-magic.png", Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])))
        return seeds
    }

    /// `jpeg` with its frame header's height and width replaced.
    static func jpegDeclaring(_ jpeg: Data, width: Int, height: Int) -> Data {
        var bytes = [UInt8](jpeg)
        var i = 2
        while i + 9 < bytes.count, bytes[i] == 0xFF {
            let marker = bytes[i + 1], length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            if marker == 0xC0 || marker == 0xC2 {
                bytes[i + 5] = UInt8(height >> 8); bytes[i + 6] = UInt8(height & 0xFF)
                bytes[i + 7] = UInt8(width >> 8); bytes[i + 8] = UInt8(width & 0xFF)
                break
            }
            i += 2 + length
        }
        return Data(bytes)
    }

    /// `png` with its IHDR's width and height replaced and the chunk's CRC made right again.
    static func pngDeclaring(_ png: Data, width: Int, height: Int) -> Data {
        var bytes = [UInt8](png)
        for (offset, value) in [(16, width), (20, height)] {
            for k in 0..<4 { bytes[offset + k] = UInt8((value >> (24 - 8 * k)) & 0xFF) }
        }
        let crc = bytes[12..<29].withUnsafeBufferPointer { crc32(0, $0.baseAddress, 17) }
        for k in 0..<4 { bytes[29 + k] = UInt8((crc >> (24 - 8 * UInt(k))) & 0xFF) }
        return Data(bytes)
    }

    static func npyFile(descr: String, fortran: Bool = false, shape: [Int], payload: Data, major: UInt8 = 1) -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }"
        let prefix = major == 1 ? 10 : 12
        while (prefix + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93]) + Data("NUMPY".utf8) + Data([major, 0])
        let length = header.utf8.count
        data += major == 1 ? Data([UInt8(length & 0xFF), UInt8(length >> 8)]) : Data([UInt8(length & 0xFF), UInt8(length >> 8), 0, 0])
        return data + Data(header.utf8) + payload
    }

    static func npy() -> [(String, Data)] {
        let twelve = Data((0..<12).flatMap { i in withUnsafeBytes(of: Float(i).bitPattern.littleEndian, Array.init) })
        let twelveDoubles = Data((0..<12).flatMap { i in withUnsafeBytes(of: Double(i).bitPattern.littleEndian, Array.init) })
        return [
            ("f32-3x4.npy", NpyFile.encode(Tensor(shape: [3, 4], values: (0..<12).map(Float.init)))),
            ("f32-12.npy", npyFile(descr: "<f4", shape: [12], payload: twelve)),
            ("f32-fortran.npy", npyFile(descr: "<f4", fortran: true, shape: [3, 4], payload: twelve)),
            ("f64-3x4.npy", npyFile(descr: "<f8", shape: [3, 4], payload: twelveDoubles)),
            ("f32-big-endian.npy", npyFile(descr: ">f4", shape: [3, 4], payload: twelve)),
            ("i4.npy", npyFile(descr: "<i4", shape: [3, 4], payload: twelve)),
            ("v2.npy", npyFile(descr: "<f4", shape: [3, 4], payload: twelve, major: 2)),
            ("empty-rows.npy", npyFile(descr: "<f4", shape: [0, 4], payload: Data())),
            ("huge-declared.npy", npyFile(descr: "<f4", shape: [1 << 40, 1 << 30], payload: twelve)),
            ("cut.npy", npyFile(descr: "<f4", shape: [3, 4], payload: twelve.prefix(20))),
        ]
    }

    static func models() throws -> [(String, (safetensors: Data, onnx: Data))] {
        let architectures = [
            Architecture(name: "tiny", inputChannels: 1, inputSize: 6, layers: [
                .conv2d(filters: 2, kernel: 3), .relu, .maxPool2x2, .flatten, .dense(units: 3), .l2Normalize,
            ]),
            Architecture.residual(channels: 3, imageSize: 8, widths: [2, 2], blocks: [1, 1], embeddingDimension: 3),
        ]
        return try architectures.map { architecture in
            let model = EmbeddingModel(architecture: architecture,
                                       preprocessing: Preprocessing(imageSize: architecture.inputSize, channels: architecture.inputChannels),
                                       distance: .cosine, network: architecture.build())
            return (architecture.name, (try model.fileContents().encoded(), try model.onnxModel()))
        }
    }

    static func idx() -> [(String, Data)] {
        let header: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 2]
        let labels: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 4, 1, 2, 3, 4]
        var plain = Data(header)
        plain += Data((0..<12).map { UInt8($0 * 20) })
        return [
            ("images.idx", plain), ("labels.idx", Data(labels)), ("images.idx.gz", gzipped(plain)),
            ("cut.idx", plain.prefix(20)), ("huge-declared.idx", Data([0, 0, 8, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2])),
            ("float.idx", Data([0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0x80, 0x3F])),
        ]
    }

    /// gzip's wrapper (zlib's window bits + 16), as `gzip` writes files.
    static func gzipped(_ data: Data) -> Data {
        var stream = z_stream()
        guard deflateInit2_(&stream, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return Data() }
        defer { deflateEnd(&stream) }
        var input = [UInt8](data), output = [UInt8](repeating: 0, count: data.count + 64)
        let produced = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer -> Int in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                _ = deflate(&stream, Z_FINISH)
                return outBuffer.count - Int(stream.avail_out)
            }
        }
        return Data(output.prefix(produced))
    }

    /// An index of each kind over 48 vectors, as its file without the mark and checksum (`IndexFuzzing` adds both).
    static func indexes() -> [(String, Data)] {
        let dimension = 8, count = 48
        var generator = RandomGenerator(seed: 7)
        let vectors = (0..<(count * dimension)).map { _ in Float(generator.next() % 1000) / 500 - 1 }
        let ids = Array(0..<count)
        let state = GalleryState(uuid: "00000000-0000-0000-0000-000000000000", generation: 3)
        let flat = FlatIndex(dimension: dimension)
        let hnsw = HNSWIndex(dimension: dimension, parameters: HNSWParameters(m: 4, efConstruction: 16, efSearch: 8))
        let sq8 = SQ8Index(dimension: dimension)
        let ivfpq = IVFPQIndex(dimension: dimension, parameters: IVFPQParameters(lists: 4, subquantizers: 4, probe: 2, rerank: 8))
        var seeds: [(String, Data)] = []
        vectors.withUnsafeBufferPointer { rows in
            sq8.train(rows.baseAddress!, count: count)
            ivfpq.train(rows.baseAddress!, count: count)
            for index in [flat, hnsw, sq8, ivfpq] as [any VectorIndex] {
                index.add(ids: ids, vectors: rows.baseAddress!)
                let file = IndexFile.encode(index, state: state)
                seeds.append(("\(type(of: index).kind.rawValue).body", file.dropFirst(8).dropLast(4)))
            }
        }
        return seeds
    }

    /// Edits in `EditReader`'s form: what (column or key, and row), type, length, value bytes.
    static func galleryEdits() -> [(String, Data)] {
        func edit(_ what: Int, _ type: Int, _ value: [UInt8]) -> [UInt8] { [UInt8(what), UInt8(type), UInt8(value.count)] + value }
        let text = { (s: String) in [UInt8](s.utf8) }
        // Targets: 0-5 items columns (id, path, label, vector, added, metadata), 6-14 meta keys
        // (format, dimension, distance, uuid, threshold, model, generation, next_id, index), 15 delete, 16 copy.
        return [
            ("untouched", Data()),
            ("short-vector", Data(edit(3, 5, [1, 2, 3]))),
            ("null-path", Data(edit(1, 0, []))),
            ("text-vector", Data(edit(3, 3, text("abcdefghijklmnop")))),
            ("dimension-8", Data(edit(7, 3, text("8")))),
            ("dimension-huge", Data(edit(7, 3, text("99999999999")))),
            ("distance-other", Data(edit(8, 3, text("l1")))),
            ("threshold-nan", Data(edit(10, 3, text("nan")))),
            ("index-hnsw", Data(edit(14, 3, text("{\"kind\":\"hnsw\",\"m\":4}")))),
            ("index-ivfpq", Data(edit(14, 3, text("{\"kind\":\"ivfpq\",\"lists\":2,\"subquantizers\":2}")))),
            ("id-negative", Data(edit(0, 1, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]))),
            ("label-blob", Data(edit(2, 5, [0xFF, 0xFE]))),
            ("added-text", Data(edit(4, 3, text("yesterday")))),
            ("copy-and-delete", Data(edit(16, 1, [9]) + edit(15 + 17, 0, []))),
            ("next-id-back", Data(edit(13, 3, text("0")))),
            ("no-format", Data(edit(6, 0, []))),
        ]
    }

    /// Inputs in `GalleryRowsFuzzing`'s form: six column values, nine meta values, then index settings JSON.
    static func galleryRows() -> [(String, Data)] {
        func value(_ type: Int, _ bytes: [UInt8]) -> [UInt8] { [0, UInt8(type), UInt8(bytes.count)] + bytes }
        let text = { (s: String) in value(3, [UInt8](s.utf8)) }
        let vector = value(5, [Float]([1, 0, 0, 0]).flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
        let row = value(1, [7, 0, 0, 0, 0, 0, 0, 0]) + text("a.png") + text("shoe") + vector + value(2, withUnsafeBytes(of: (1.7e9).bitPattern.littleEndian, Array.init)) + value(0, [])
        let meta = text("akin-gallery-sqlite-1") + text("4") + text("cosine") + text("uuid") + text("0.5") + text("model") + text("3") + text("8")
        let settings = [
            "{\"kind\":\"flat\"}", "{\"kind\":\"hnsw\",\"m\":4,\"efConstruction\":8,\"efSearch\":4}",
            "{\"kind\":\"sq8\",\"rerank\":2,\"trainedOn\":5}", "{\"kind\":\"ivfpq\",\"lists\":2,\"subquantizers\":2,\"probe\":1,\"rerank\":3}",
        ]
        var seeds = [("row-only", Data(row)), ("row-and-meta", Data(row + meta))]
        for (i, json) in settings.enumerated() { seeds.append(("settings-\(i)", Data(row + meta + text("") + Array(json.utf8)))) }
        return seeds
    }
}
