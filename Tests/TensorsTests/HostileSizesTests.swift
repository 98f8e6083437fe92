import Foundation
import Tensors
import Testing

/// Sizes and values from outside: a header may claim anything, a vector may hold anything.
@Suite("Hostile sizes and values")
struct HostileSizesTests {
    @Test func productsThatOverflowOrPassTheLimitAreRefused() {
        #expect(CheckedSize.product([60000, 28, 28]) == 47_040_000)
        #expect(CheckedSize.product([1 << 40, 1 << 30]) == nil)
        #expect(CheckedSize.product([3, -1]) == nil)
        #expect(CheckedSize.product([10, 10], limit: 99) == nil)
        #expect(CheckedSize.product([]) == 1)
    }

    /// An .npy header whose shape multiplies past Int: an error naming the file, not a trap.
    @Test func npyShapeThatOverflowsIsAnError() {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data.append(Data(header.utf8))
        data.append(Data(count: 16))
        #expect { try NpyFile.decode(data, path: "huge.npy") } throws: { "\($0)".contains("huge.npy") && "\($0)".contains("more bytes than any file holds") }
    }

    @Test func rowsTooLargeOrTooSmallForFloatsSquaresStillBecomeUnitLength() {
        let x = Tensor(shape: [5, 3], values: [3e20, 4e20, 0,  3e-25, 0, 4e-25,  0, 0, 0,  .nan, 1, 1,  .infinity, 1, 1])
        RowNormalization.unitLength(x)
        let rows = (0..<5).map { r in (0..<3).map { x[r * 3 + $0] } }
        #expect(zip(rows[0], [0.6, 0.8, 0] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(zip(rows[1], [0.6, 0, 0.8] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(rows[2] == [0, 0, 0], "a zero row stays zero")
        #expect(rows[3].allSatisfy(\.isNaN) && rows[4].allSatisfy(\.isNaN), "a NaN or infinite row is no direction: NaN, seen downstream")
    }
}

/// Akin's own parallel loops run on at most `--threads` threads, each index once.
@Suite("ComputeThreads.forEach")
struct ComputeThreadsTests {
    @Test func visitsEveryIndexOnceWithinTheThreadCount() {
        let iterations = 2000
        let seen = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: iterations)
        seen.initialize(repeating: 0)
        defer { seen.deallocate() }
        let peak = Peak()
        let slots = UncheckedSendable(seen)
        ComputeThreads.forEach(iterations) { i in
            peak.enter()
            slots.value[i] += 1
            peak.leave()
        }
        #expect(seen.allSatisfy { $0 == 1 })
        #expect(peak.most >= 1 && peak.most <= ComputeThreads.count, "at most \(ComputeThreads.count) at once, saw \(peak.most)")
    }
}

/// The most calls running at once.
final class Peak: @unchecked Sendable {
    private let lock = NSLock()
    private var running = 0
    private(set) var most = 0

    func enter() { lock.lock(); running += 1; most = max(most, running); lock.unlock() }
    func leave() { lock.lock(); running -= 1; lock.unlock() }
}
