import Foundation
import Tensors
import Testing

@Suite("Tensors")
struct TensorsTests {
    @Test func gemmMatchesNaiveProduct() {
        var generator = RandomGenerator(seed: 1)
        let m = 5, n = 7, k = 3
        let a = (0..<(m * k)).map { _ in generator.nextFloat() - 0.5 }
        let b = (0..<(n * k)).map { _ in generator.nextFloat() - 0.5 }
        var c = [Float](repeating: 0, count: m * n)
        gemm(transposeB: true, m: m, n: n, k: k, a: a, b: b, c: &c)
        for i in 0..<m { for j in 0..<n {
            let expected = (0..<k).reduce(Float(0)) { $0 + a[i * k + $1] * b[j * k + $1] }
            #expect(abs(c[i * n + j] - expected) < 1e-5)
        } }
    }

    @Test func generatorIsReproducibleAndRestorable() {
        var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42)
        let first = (0..<5).map { _ in a.next() }
        #expect(first == (0..<5).map { _ in b.next() })
        var restored = RandomGenerator(state: a.state)
        #expect((0..<5).map { _ in a.next() } == (0..<5).map { _ in restored.next() })
        #expect(RandomGenerator(seed: 1).state != RandomGenerator(seed: 2).state)
        var counts = [Int](repeating: 0, count: 3)
        for _ in 0..<3000 { counts[a.nextInt(below: 3)] += 1 }
        #expect(counts.allSatisfy { $0 > 900 && $0 < 1100 })
    }

    @Test func elementwiseKernelsHandleRemainders() {
        let x: [Float] = (0..<19).map { Float($0) - 9 }
        var y = [Float](repeating: 0, count: 19)
        Elementwise.relu(x, &y, count: 19)
        #expect(y == x.map { max(0, $0) })
        #expect(Elementwise.dot(x, x, count: 19) == x.reduce(0) { $0 + $1 * $1 })
    }

    @Test func safetensorsRoundTripsAndFollowsTheFormat() throws {
        let path = NSTemporaryDirectory() + "/akin-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]), b = Tensor(shape: [1], values: [-7.5])
        try SafeTensorsFile(tensors: ["a": a, "b": b], metadata: ["note": "hello"]).write(to: path)

        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = data.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        #expect((8 + headerLength) % 8 == 0)
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        let entry = header["a"] as! [String: Any]
        #expect(entry["dtype"] as? String == "F32")
        #expect(entry["shape"] as? [Int] == [2, 3])
        #expect(entry["data_offsets"] as? [Int] == [0, 24])
        #expect(data.count == 8 + headerLength + 28)

        let read = try SafeTensorsFile.read(from: path)
        #expect(read.tensors["a"]?.array == a.array)
        #expect(read.tensors["b"]?.array == [-7.5])
        #expect(read.metadata["note"] == "hello")
    }

    /// PyTorch's state dicts hold int64 counters (batch norm's num_batches_tracked, 0-d).
    @Test func safetensorsCarriesInt64CountersAfterTheFloats() throws {
        var file = SafeTensorsFile(tensors: ["w": Tensor(shape: [2], values: [1, 2])])
        file.int64Tensors = ["n": Int64Tensor(shape: [], values: [-3]), "m": Int64Tensor(shape: [2], values: [5, Int64.max])]
        let data = try file.encoded()
        let headerLength = data.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        #expect((header["n"] as! [String: Any])["dtype"] as? String == "I64")
        #expect((header["n"] as! [String: Any])["shape"] as? [Int] == [])
        #expect((header["m"] as! [String: Any])["data_offsets"] as? [Int] == [8, 24])
        #expect((header["n"] as! [String: Any])["data_offsets"] as? [Int] == [24, 32])
        let read = try SafeTensorsFile.decode(data, path: "memory")
        #expect(read.int64Tensors == file.int64Tensors && read.tensors["w"]?.array == [1, 2])
    }

    @Test func truncatedSafetensorsIsAClearError() throws {
        let path = NSTemporaryDirectory() + "/akin-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var data = try SafeTensorsFile(tensors: ["a": Tensor(shape: [64])]).encoded()
        data.removeLast(10)
        try data.write(to: URL(fileURLWithPath: path))
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile.read(from: path) }
    }

    @Test func atomicWriteReplacesWholeAndLeavesNoTemporaryFile() throws {
        let folder = NSTemporaryDirectory() + "/akin-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try AtomicFile.write(Data("old".utf8), to: folder + "/f")
        try AtomicFile.write(Data("new contents".utf8), to: folder + "/f")
        #expect(try String(contentsOfFile: folder + "/f", encoding: .utf8) == "new contents")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["f"])
        #expect(throws: FileWriteError.self) { try AtomicFile.write(Data(), to: folder + "/missing/f") }
    }
}
