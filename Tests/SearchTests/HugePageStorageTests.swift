@testable import Search
import Testing

/// The storage under the HNSW graph: appends across growth keep every value, and a mapping of
/// 2 MB or more starts on a 2 MB boundary (where huge pages can back it).
@Suite("Huge-page storage")
struct HugePageStorageTests {
    /// With mapping (huge pages) and without (the heap fallback used where mmap is refused).
    @Test(arguments: [true, false])
    func appendsSurviveGrowthInOrder(mapping: Bool) {
        let storage = HugePageStorage<Int32>(mapping: mapping)
        var expected: [Int32] = []
        for chunk in 0..<300 {
            let values = (0..<(chunk % 7 + 1)).map { Int32(chunk * 10 + $0) }
            values.withUnsafeBufferPointer { storage.append(contentsOf: $0) }
            expected += values
            storage.append(repeating: -1, count: chunk % 3)
            expected += repeatElement(-1, count: chunk % 3)
        }
        #expect(storage.count == expected.count)
        #expect(storage.array == expected)
        storage[5] = 42
        expected[5] = 42
        #expect(storage.array == expected)
        #expect(storage.isMapped == mapping)
    }

    @Test func fallbackGrowsFromZeroedMemory() {
        let storage = HugePageStorage<Float>(capacity: 5, mapping: false)
        storage.append(repeating: 2, count: 3 << 20)
        #expect(!storage.isMapped && storage.count == 3 << 20 && storage[0] == 2 && storage[(3 << 20) - 1] == 2)
    }

    @Test func largeStorageStartsOnAHugePageBoundary() {
        let count = 3 << 20  // 12 MB of floats
        let storage = HugePageStorage<Float>(capacity: count)
        storage.append(repeating: 0.5, count: count)
        #expect(Int(bitPattern: storage.pointer) % (2 << 20) == 0)
        #expect(storage[0] == 0.5 && storage[count - 1] == 0.5)
        let grown = HugePageStorage<Float>([1, 2, 3])
        grown.append(repeating: 4, count: count)
        #expect(grown[2] == 3 && grown[count + 2] == 4 && grown.count == count + 3)
    }
}
