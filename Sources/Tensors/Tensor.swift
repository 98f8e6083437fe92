/// Owns one 64-byte aligned block of Float32s; several `Tensor`s may view it under different shapes.
public final class TensorStorage {
    public let pointer: UnsafeMutablePointer<Float>
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity >= 0, "negative tensor capacity")
        self.capacity = capacity
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(capacity, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(capacity, 1))
        pointer.initialize(repeating: 0, count: max(capacity, 1))
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}

/// A dense, row-major Float32 tensor (NCHW for images). Reference semantics: layers hand
/// tensors to each other without copying, and write into buffers they allocated once.
public final class Tensor {
    public private(set) var shape: [Int]
    public let storage: TensorStorage

    public var count: Int { shape.reduce(1, *) }
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: storage.pointer, count: count) }

    /// A zero-filled tensor.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        storage = TensorStorage(capacity: shape.reduce(1, *))
    }

    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    /// Shares `storage` under another shape of the same element count.
    public init(viewing storage: TensorStorage, shape: [Int]) {
        precondition(shape.reduce(1, *) <= storage.capacity, "view \(shape) exceeds storage")
        self.shape = shape
        self.storage = storage
    }

    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(viewing: storage, shape: newShape)
    }

    public var array: [Float] { Array(buffer) }

    public subscript(index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }

    public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }

    public func copy(from other: Tensor) {
        precondition(other.count == count, "copy of \(other.shape) into \(shape)")
        pointer.update(from: other.pointer, count: count)
    }

    public func clone() -> Tensor {
        let result = Tensor(shape: shape)
        result.copy(from: self)
        return result
    }
}
