import CVectorKernels
import Tensors
import Testing

/// Both versions of each dot-product kernel (AVX2+FMA when this CPU has it, and the portable one)
/// against a plain loop summed in Double, on lengths around the vector widths and their tails.
@Suite("Vector kernels")
struct VectorKernelsTests {
    typealias Dot = (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float
    typealias Rows = (UnsafePointer<Float>, UnsafePointer<Float>, Int, Int, UnsafeMutablePointer<Float>) -> Void
    typealias Gather = (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Int32>, Int, Int, UnsafeMutablePointer<Float>) -> Void
    typealias FirstAtLeast = (UnsafePointer<Float>, Int, Float) -> Int
    typealias Version = (name: String, dot: Dot, rows: Rows, gather: Gather, firstAtLeast: FirstAtLeast)

    var versions: [Version] {
        var all: [Version] = [
            ("portable", { akin_dot_portable($0, $1, $2) }, { akin_dot_rows_portable($0, $1, $2, $3, $4) },
             { akin_dot_gather_portable($0, $1, $2, $3, $4, $5) }, { akin_first_at_least_portable($0, $1, $2) }),
        ]
        if akin_vector_kernels_use_avx2() == 1 {
            all.append(("avx2", { akin_dot_avx2($0, $1, $2) }, { akin_dot_rows_avx2($0, $1, $2, $3, $4) },
                        { akin_dot_gather_avx2($0, $1, $2, $3, $4, $5) }, { akin_first_at_least_avx2($0, $1, $2) }))
        }
        return all
    }

    @Test func firstAtLeastFindsTheFirstScoreThatCanGetIn() {
        let values = random(37, seed: 5)
        for version in versions {
            for bound: Float in [-.infinity, -1, 0, 0.5, 1.5, values[20], values[36], .infinity] {
                for start in [0, 1, 8, 30, 37] {
                    let expected = (start..<37).first { values[$0] >= bound } ?? 37
                    let found = values.withUnsafeBufferPointer { start + version.firstAtLeast($0.baseAddress! + start, 37 - start, bound) }
                    #expect(found == expected, "\(version.name), bound \(bound), from \(start)")
                }
            }
        }
        // NaN never gets in.
        #expect(versions.allSatisfy { $0.firstAtLeast([.nan, .nan, 2], 3, 1) == 2 })
    }

    func random(_ count: Int, seed: UInt64) -> [Float] {
        var generator = RandomGenerator(seed: seed)
        return (0..<count).map { _ in generator.nextGaussian() }
    }

    func plainDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var sum = 0.0
        for i in 0..<count { sum += Double(a[i]) * Double(b[i]) }
        return Float(sum)
    }

    @Test(arguments: [1, 7, 8, 15, 16, 24, 63, 64, 100, 128])
    func dotMatchesAPlainLoop(dimension: Int) {
        let a = random(dimension, seed: 1), b = random(dimension, seed: 2)
        let expected = plainDot(a, b, dimension)
        for version in versions {
            let found = version.dot(a, b, dimension)
            #expect(abs(found - expected) <= 1e-5 * Float(dimension), "\(version.name), dimension \(dimension)")
        }
        #expect(akin_dot(a, b, dimension) == (akin_vector_kernels_use_avx2() == 1 ? akin_dot_avx2(a, b, dimension) : akin_dot_portable(a, b, dimension)))
    }

    @Test(arguments: [(0, 64), (1, 64), (3, 64), (4, 64), (9, 64), (1023, 64), (6, 12), (5, 33)])
    func rowsAndGatherMatchAPlainLoop(rowCount: Int, dimension: Int) {
        let query = random(dimension, seed: 3), rows = random(max(rowCount, 1) * dimension, seed: 4)
        // Rows named out of order and one twice, as a node's neighbour list may be.
        let ids = (0..<rowCount).map { Int32(($0 * 7 + 3) % max(rowCount, 1)) } + (rowCount > 0 ? [0] : [])
        for version in versions {
            var scores = [Float](repeating: .nan, count: rowCount)
            version.rows(query, rows, rowCount, dimension, &scores)
            for r in 0..<rowCount {
                let expected = rows.withUnsafeBufferPointer { plainDot(query, $0.baseAddress! + r * dimension, dimension) }
                #expect(abs(scores[r] - expected) <= 1e-5 * Float(dimension), "\(version.name) rows, row \(r) of \(rowCount)")
            }
            var gathered = [Float](repeating: .nan, count: ids.count)
            version.gather(query, rows, ids, ids.count, dimension, &gathered)
            for (i, id) in ids.enumerated() {
                let expected = rows.withUnsafeBufferPointer { plainDot(query, $0.baseAddress! + Int(id) * dimension, dimension) }
                #expect(abs(gathered[i] - expected) <= 1e-5 * Float(dimension), "\(version.name) gather, entry \(i)")
            }
        }
    }
}
