import Foundation
import Tensors

/// Each point's k nearest others by Euclidean distance, exactly: squared distances of a block of
/// rows against all rows come from one BLAS product (‖x‖² + ‖y‖² − 2x·y), then a heap keeps the
/// k smallest.
public struct NearestNeighbours: Sendable {
    public let k: Int
    /// Row i's neighbours, nearest first: indices[i*k ..< (i+1)*k].
    public var indices: [Int32]
    /// Their squared distances, in the same order.
    public var squaredDistances: [Float]

    public static func compute(_ x: Tensor, k: Int, blockSize: Int = 256) -> NearestNeighbours {
        let n = x.shape[0], d = x.shape[1]
        precondition(k >= 1 && k < n, "k must be in 1..<N")
        var norms = [Float](repeating: 0, count: n)
        for i in 0..<n { norms[i] = Elementwise.dot(x.pointer + i * d, x.pointer + i * d, count: d) }
        var indices = [Int32](repeating: 0, count: n * k)
        var distances = [Float](repeating: 0, count: n * k)
        let block = min(blockSize, n)
        let products = Tensor(shape: [block, n])
        // The product is BLAS's (on its own threads); the heaps share the block's rows among the cores.
        let workers = min(block, 2 * ProcessInfo.processInfo.activeProcessorCount)
        var heaps = (0..<workers).map { _ in NearestHeap(k: k) }
        norms.withUnsafeBufferPointer { normsBuffer in
        indices.withUnsafeMutableBufferPointer { indicesBuffer in
        distances.withUnsafeMutableBufferPointer { distancesBuffer in
        heaps.withUnsafeMutableBufferPointer { heapsBuffer in
            let norms = UncheckedSendable(normsBuffer.baseAddress!), heaps = UncheckedSendable(heapsBuffer.baseAddress!)
            let outIndices = UncheckedSendable(indicesBuffer.baseAddress!), outDistances = UncheckedSendable(distancesBuffer.baseAddress!)
            let productRows = UncheckedSendable(UnsafePointer(products.pointer))
            var start = 0
            while start < n {
                let rows = min(block, n - start), first = start
                gemm(transposeB: true, m: rows, n: n, k: d, a: x.pointer + start * d, b: x.pointer, c: products.pointer)
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    let heap = heaps.value + w
                    for r in stride(from: w, to: rows, by: workers) {
                        let i = first + r, p = productRows.value + r * n, ni = norms.value[i]
                        heap.pointee.reset()
                        for j in 0..<n where j != i { heap.pointee.offer(max(ni + norms.value[j] - 2 * p[j], 0), Int32(j)) }
                        heap.pointee.drainSorted(into: outIndices.value + i * k, outDistances.value + i * k)
                    }
                }
                start += rows
            }
        } } } }
        return NearestNeighbours(k: k, indices: indices, squaredDistances: distances)
    }
}

/// The k smallest (distance, index) pairs seen, in a max-heap whose root is the largest kept.
struct NearestHeap {
    let k: Int
    private var distances: [Float]
    private var indices: [Int32]
    private var count = 0

    init(k: Int) {
        self.k = k
        distances = [Float](repeating: 0, count: k)
        indices = [Int32](repeating: 0, count: k)
    }

    mutating func reset() { count = 0 }

    /// Larger distance, or equal distance and larger index, is "worse": ties resolve by index.
    @inline(__always) private func worse(_ da: Float, _ ia: Int32, _ db: Float, _ ib: Int32) -> Bool {
        da > db || (da == db && ia > ib)
    }

    @inline(__always) mutating func offer(_ distance: Float, _ index: Int32) {
        if count < k {
            var i = count
            count += 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard worse(distance, index, distances[parent], indices[parent]) else { break }
                distances[i] = distances[parent]; indices[i] = indices[parent]
                i = parent
            }
            distances[i] = distance; indices[i] = index
        } else if worse(distances[0], indices[0], distance, index) {
            siftDown(distance, index, size: count)
        }
    }

    private mutating func siftDown(_ distance: Float, _ index: Int32, size: Int) {
        var i = 0
        while true {
            let left = 2 * i + 1
            guard left < size else { break }
            var child = left
            if left + 1 < size && worse(distances[left + 1], indices[left + 1], distances[left], indices[left]) { child = left + 1 }
            guard worse(distances[child], indices[child], distance, index) else { break }
            distances[i] = distances[child]; indices[i] = indices[child]
            i = child
        }
        distances[i] = distance; indices[i] = index
    }

    /// Writes the kept pairs nearest first and empties the heap.
    mutating func drainSorted(into outIndices: UnsafeMutablePointer<Int32>, _ outDistances: UnsafeMutablePointer<Float>) {
        while count > 0 {
            let last = count - 1
            outDistances[last] = distances[0]; outIndices[last] = indices[0]
            let (d, i) = (distances[last], indices[last])
            count = last
            if count > 0 { siftDown(d, i, size: count) }
        }
    }
}
