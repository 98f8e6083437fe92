import Foundation

/// One parser of outside bytes, as a fuzzer drives it: `run` takes any bytes and must return,
/// whatever they are: an error thrown by the parser is the right answer to bad bytes, a crash,
/// a hang, a leak or an allocation past the fuzzer's limit is a bug. What a parser accepts is
/// used further (searched, resized, checked for consistency), as a caller would use it.
///
/// `scripts/fuzz.sh TARGET SECONDS` runs one under libFuzzer and AddressSanitizer; the tests run
/// every saved input under `fuzz/regressions/TARGET/` through the same `run`.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// JPEG and PNG through `ImageDecoder.decode`, whole and scaled, gray and RGB, then resized.
    case image
    /// NumPy `.npy` files (`NpyFile.decode`), as `gallery add --vectors` and `search --vectors` read them.
    case npy
    /// Model files: safetensors with Akin's architecture and preprocessing metadata (`EmbeddingModel.decode`).
    case model
    /// ONNX models (`EmbeddingModel.importONNX`), as `akin import onnx` reads them.
    case onnx
    /// IDX files, plain or gzipped (`IDXArray.read`), as `akin import-idx` reads them.
    case idx
    /// Index files (`IndexFile.decode`) of every kind, sealed with a valid checksum so that the
    /// structure behind it is what is tested; an index that decodes is searched.
    case index
    /// A gallery whose stored rows and settings were edited by hand: each input sets columns of
    /// `items` and values of `meta` to arbitrary SQLite values, then the gallery is opened, read and searched.
    case gallery
    /// The same stored values without SQLite: an `items` row, the `meta` table and the index
    /// settings read by `GalleryRecords`; settings that pass make an index that is filled and searched.
    case galleryRows = "gallery-rows"

    /// Makes what a target keeps for the whole run (the gallery to edit, the types' metadata)
    /// before fuzzing starts, so that libFuzzer's per-input leak check does not count it.
    public func prepare() {
        run(Data())
    }

    public func run(_ data: Data) {
        switch self {
        case .image: ImageFuzzing.run(data)
        case .npy: NpyFuzzing.run(data)
        case .model: ModelFuzzing.run(data)
        case .onnx: ONNXFuzzing.run(data)
        case .idx: IDXFuzzing.run(data)
        case .index: IndexFuzzing.run(data)
        case .gallery: GalleryFuzzing.run(data)
        case .galleryRows: GalleryRowsFuzzing.run(data)
        }
    }
}

/// A fuzz target's own check failed: what the parser returned is inconsistent. Stops the process,
/// which is what a fuzzer needs to save the input.
func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("fuzz check failed: \(message())") }
}

/// A file for parsers that read paths (IDX through zlib, galleries through SQLite): in memory
/// under /dev/shm where there is one, one per process so parallel fuzzers do not meet.
enum ScratchFile {
    static func path(_ name: String) -> String {
        let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return "\(folder)/akin-fuzz-\(getpid())-\(name)"
    }
}
