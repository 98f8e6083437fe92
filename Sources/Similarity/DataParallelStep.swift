import Dispatch
import Networks
import Tensors

/// One process's share of a data-parallel step, and the buffers its two exchanges reuse.
///
/// Every process draws the same global batch of `globalCount` images (same generator, same seed)
/// and runs the network on its own contiguous slice of rows. The slices' embeddings are gathered,
/// so every process scores the loss on the whole batch — mining sees the global batch, exactly as
/// one process would — and back-propagates only its own rows of the loss's gradient. The parameter
/// gradients are then summed over the processes in one call over one flat buffer: the sum of the
/// slices' contributions is the whole batch's gradient.
///
/// The sum is not overlapped with the backward pass: with one flat buffer the sum can start only
/// once the last layer's gradient is in, and it costs little against a step (bench/mpi.sh
/// measures it). Buckets summed as the layers finish would be the way to hide it.
final class DataParallelStep {
    let group: any DataParallelGroup
    let globalCount: Int
    /// Rows of the global batch per process, and where each starts.
    let counts: [Int]
    let offsets: [Int]
    var localRows: Range<Int> { offsets[group.rank]..<(offsets[group.rank] + counts[group.rank]) }

    private let width: Int
    /// [globalCount, width]: every process's embeddings, in batch order.
    let embeddings: Tensor
    /// [globalCount, width]: the loss's gradient for the whole batch; this process's rows go back.
    let gradient: Tensor
    /// [local rows, width]: the rows of `gradient` this process back-propagates.
    private let localGradient: Tensor
    private var flat: [Float]
    /// Nanoseconds spent in the exchanges, summed since the start (the profile's communication stage).
    private(set) var communicationNanoseconds: UInt64 = 0

    init(group: any DataParallelGroup, globalCount: Int, width: Int, parameterCount: Int) throws(DataParallelError) {
        guard globalCount >= group.size else { throw .batchTooSmall(imagesPerStep: globalCount, processes: group.size) }
        self.group = group
        self.globalCount = globalCount
        self.width = width
        // As even as can be: the first globalCount mod size processes take one row more.
        let base = globalCount / group.size, extra = globalCount % group.size
        counts = (0..<group.size).map { base + ($0 < extra ? 1 : 0) }
        var start = 0
        offsets = counts.map { count in defer { start += count }; return start }
        embeddings = Tensor(shape: [globalCount, width])
        gradient = Tensor(shape: [globalCount, width])
        localGradient = Tensor(shape: [counts[group.rank], width])
        flat = [Float](repeating: 0, count: parameterCount)
    }

    /// Every process's `local` embeddings ([local rows, width]) in one tensor, in batch order.
    func gather(_ local: Tensor) throws(DataParallelError) -> Tensor {
        let started = now()
        defer { communicationNanoseconds += now() - started }
        let counts = counts.map { $0 * width }, offsets = offsets.map { $0 * width }
        try group.gather(UnsafeBufferPointer(local.buffer), into: embeddings.buffer, counts: counts, offsets: offsets)
        return embeddings
    }

    /// This process's rows of `gradient`, to back-propagate through its slice.
    func localRowsOfGradient() -> Tensor {
        localGradient.pointer.update(from: gradient.pointer + offsets[group.rank] * width, count: localGradient.count)
        return localGradient
    }

    /// Sums the network's parameter gradients over the processes, in place, in one call.
    /// `replicated` are parameters every process computed the same whole-batch gradient for (the
    /// loss's class proxies): process 0's is taken, so the copies cannot drift apart by rounding.
    func sumGradients(_ parameters: [Parameter], replicated: [Parameter]) throws(DataParallelError) {
        let started = now()
        defer { communicationNanoseconds += now() - started }
        let leader = group.isLeader
        try flat.withUnsafeMutableBufferPointer { (flat) throws(DataParallelError) in
            var offset = 0
            for parameter in parameters {
                (flat.baseAddress! + offset).update(from: parameter.gradient.pointer, count: parameter.gradient.count)
                offset += parameter.gradient.count
            }
            for parameter in replicated {
                let target = flat.baseAddress! + offset, count = parameter.gradient.count
                if leader { target.update(from: parameter.gradient.pointer, count: count) } else { target.update(repeating: 0, count: count) }
                offset += count
            }
            try group.sum(UnsafeMutableBufferPointer(rebasing: flat[0..<offset]))
            offset = 0
            for list in [parameters, replicated] {
                for parameter in list {
                    parameter.gradient.pointer.update(from: flat.baseAddress! + offset, count: parameter.gradient.count)
                    offset += parameter.gradient.count
                }
            }
        }
    }

    /// Replaces every process's running statistics (batch norm's, which each process keeps from
    /// its own slices) by their mean over the processes, so the model written and the state a
    /// resumed run starts from are the same on every process.
    func averageBuffers(_ buffers: [Parameter]) throws(DataParallelError) {
        let count = buffers.reduce(0) { $0 + $1.value.count }
        guard count > 0 else { return }
        let started = now()
        defer { communicationNanoseconds += now() - started }
        var values = [Float](repeating: 0, count: count)
        try values.withUnsafeMutableBufferPointer { (values) throws(DataParallelError) in
            var offset = 0
            for buffer in buffers {
                (values.baseAddress! + offset).update(from: buffer.value.pointer, count: buffer.value.count)
                offset += buffer.value.count
            }
            try group.sum(values)
            let scale = 1 / Float(group.size)
            offset = 0
            for buffer in buffers {
                for i in 0..<buffer.value.count { buffer.value.pointer[i] = values[offset + i] * scale }
                offset += buffer.value.count
            }
        }
    }

    private func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
