import Foundation
import Tensors
import TestSupport
import Testing

@Suite(".npy files")
struct NpyTests {
    /// Files numpy wrote (scripts/make_npy_fixtures.py): x[i, j] = i − 0.25 j.
    @Test(arguments: ["matrix_3x5_f32.npy", "matrix_v2_f32.npy"])
    func readsWhatNumpyWrote(name: String) throws {
        let tensor = try NpyFile.read(from: Fixture.url(name).path)
        #expect(tensor.shape == [3, 5])
        var expected: [Float] = []
        for i in 0..<3 { for j in 0..<5 { expected.append(Float(i) - 0.25 * Float(j)) } }
        #expect(tensor.array == expected)
        let vector = try NpyFile.read(from: Fixture.url("vector_4_f32.npy").path)
        #expect(vector.shape == [4] && vector.array == [0, 1, 2, 3])
    }

    @Test func writesWhatItReadsAndWhatNumpyWrites() throws {
        let original = try Data(contentsOf: Fixture.url("matrix_3x5_f32.npy"))
        let tensor = try NpyFile.decode(original, path: "m")
        #expect(NpyFile.encode(tensor) == original, "byte for byte what numpy.save wrote")
        let odd = Tensor(shape: [2, 3, 1], values: [1, -2, 3.5, .infinity, 0, 7])
        let back = try NpyFile.decode(NpyFile.encode(odd), path: "odd")
        #expect(back.shape == odd.shape && back.array == odd.array)
    }

    @Test func refusesWhatItCannotRead() throws {
        #expect { try NpyFile.read(from: Fixture.url("matrix_f64.npy").path) } throws: { "\($0)".contains("'<f8'") }
        #expect { try NpyFile.read(from: Fixture.url("matrix_fortran.npy").path) } throws: { "\($0)".contains("Fortran") }
        let good = try Data(contentsOf: Fixture.url("matrix_3x5_f32.npy"))
        #expect { try NpyFile.decode(good.prefix(good.count - 4), path: "cut.npy") } throws: { "\($0)".contains("cut.npy") }
        #expect { try NpyFile.decode(Data("hello".utf8), path: "h.npy") } throws: { "\($0)".contains("magic") }
        #expect { try NpyFile.read(from: "/nonexistent/x.npy") } throws: { "\($0)".contains("missing") }
    }
}
