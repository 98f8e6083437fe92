import Foundation
import Tensors

enum NpyFuzzing {
    static func run(_ data: Data) {
        guard let tensor = try? NpyFile.decode(data, path: "fuzz.npy") else { return }
        fuzzCheck(tensor.shape.allSatisfy { $0 >= 0 }, "negative dimension in \(tensor.shape)")
        fuzzCheck(tensor.storage.capacity >= tensor.count, "\(tensor.storage.capacity) values stored for shape \(tensor.shape)")
        // Every value is readable (AddressSanitizer checks): the storage holds what the shape says.
        var sum: Float = 0
        for value in tensor.buffer { sum += value }
        _ = sum
    }
}
