import Foundation
import Images

enum IDXFuzzing {
    // IDX is read through zlib's gzopen (plain and gzipped alike), which takes a path.
    static let path = ScratchFile.path("input.idx")

    static func run(_ data: Data) {
        guard FileManager.default.createFile(atPath: path, contents: data) else { fatalError("cannot write \(path)") }
        defer { unlink(path) }
        guard let array = try? IDXArray.read(path) else { return }
        fuzzCheck(!array.dimensions.isEmpty && array.dimensions.allSatisfy { $0 >= 0 }, "dimensions \(array.dimensions)")
        fuzzCheck(array.bytes.count == array.dimensions.reduce(1, *), "\(array.bytes.count) bytes for dimensions \(array.dimensions)")
    }
}
