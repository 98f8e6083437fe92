import Foundation
import Tensors

/// A tensor stored in an ONNX file (an initializer or a Constant node's value): float32 weights,
/// or int64/int32 numbers such as Reshape's target shape. Sizes from the file are checked before
/// anything is allocated.
struct ONNXConstant {
    var dims: [Int]
    var floats: [Float]?
    var integers: [Int64]?

    var count: Int { dims.reduce(1, *) }

    init(_ proto: Onnx_TensorProto, path: String) throws {
        let what = "tensor \"\(proto.name)\""
        if proto.dataLocation == .external || !proto.externalData.isEmpty {
            throw ONNXImportError.notAModel(path: path, reason: "\(what) keeps its data in an external file; save the model with its weights inside (onnx.save_model(model, path, save_as_external_data=False))")
        }
        var count = 1
        for dimension in proto.dims {
            guard dimension >= 0, dimension <= Int64(Int32.max) else { throw ONNXImportError.notAModel(path: path, reason: "\(what) has dimension \(dimension)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(dimension))
            guard !overflow, product <= ONNXImport.maximumFileSize / 4 else {
                throw ONNXImportError.notAModel(path: path, reason: "\(what) has shape \(proto.dims), more values than the file can hold")
            }
            count = product
        }
        dims = proto.dims.map(Int.init)
        let raw = proto.rawData
        func fromRaw<T>(_ type: T.Type) throws -> [T] {
            guard raw.count == count * MemoryLayout<T>.size else {
                throw ONNXImportError.notAModel(path: path, reason: "\(what) has \(raw.count) bytes of data for shape \(dims)")
            }
            return raw.withUnsafeBytes { bytes in (0..<count).map { bytes.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) } }
        }
        switch Onnx_TensorProto.DataType(rawValue: Int(proto.dataType)) {
        case .float:
            floats = proto.hasRawData ? try fromRaw(Float.self) : proto.floatData
        case .int64:
            integers = proto.hasRawData ? try fromRaw(Int64.self) : proto.int64Data
        case .int32:
            integers = proto.hasRawData ? try fromRaw(Int32.self).map(Int64.init) : proto.int32Data.map(Int64.init)
        default:
            throw ONNXImportError.notAModel(path: path, reason: "\(what) is of ONNX data type \(proto.dataType); Akin reads float32 weights (and int64/int32 shapes)")
        }
        guard (floats?.count ?? integers?.count ?? -1) == count else {
            throw ONNXImportError.notAModel(path: path, reason: "\(what) holds \(floats?.count ?? integers?.count ?? 0) values for shape \(dims)")
        }
    }

    var tensor: Tensor? { floats.map { Tensor(shape: dims, values: $0) } }
}
