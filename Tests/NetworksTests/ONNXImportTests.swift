import Foundation
import Networks
import Tensors
import TestSupport
import Testing

/// Small graphs built with onnx's helper API (scripts/make_onnx_import_cases.py) and their
/// onnxruntime outputs: what Akin imports must compute the same, and export back to a file
/// onnxruntime runs to the same numbers.
@Suite("ONNX import against onnxruntime", .serialized)
struct ONNXImportTests {
    static let python = ReferencePython.path(importing: ["onnx", "onnxruntime", "numpy"])
    static let enabled = ConditionTrait.enabled(if: python != nil || ReferencePython.underCI, "needs a Python with onnx and onnxruntime")

    /// The cases, made once per test process.
    static let folder: Result<String, Error> = Result {
        struct NoPython: Error, CustomStringConvertible { var description: String { "CI must install onnx and onnxruntime into ~/.cache/akin-test/venv" } }
        guard let interpreter = ONNXImportTests.python else { throw NoPython() }
        let folder = NSTemporaryDirectory() + "akin-onnx-import-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let run = try ReferencePython.run(interpreter, [ReferencePython.repositoryFile("scripts/make_onnx_import_cases.py"), folder])
        guard run.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: run.errors]) }
        return folder
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var graph: String
        var output: String?
        var expected: String
        var testDescription: String { "\(graph) → \(output ?? "pooled features")" }
    }

    static let cases = [
        Case(graph: "mobilenet_block", output: nil, expected: "features"),
        Case(graph: "mobilenet_block", output: "logits", expected: "logits"),
        Case(graph: "squeeze_excitation_pools", output: nil, expected: "features"),
        Case(graph: "squeeze_excitation_pools", output: "embedding", expected: "embedding"),
        Case(graph: "same_padding_dilation", output: nil, expected: "features"),
    ]

    static func build(_ imported: ImportedNetwork) throws -> GraphNetwork {
        let network = GraphNetwork(spec: imported.spec, inputShape: imported.inputShape, prefix: "layers.0.")
        for parameter in network.parameters + network.buffers {
            let stored = try #require(imported.weights[parameter.name], "no weight \(parameter.name)")
            parameter.value.copy(from: stored)
        }
        #expect(Set(imported.weights.keys) == Set((network.parameters + network.buffers).map(\.name)))
        return network
    }

    @Test(enabled, arguments: cases)
    func importedNetworksComputeWhatOnnxRuntimeDoes(_ c: Case) throws {
        let folder = try Self.folder.get(), path = "\(folder)/\(c.graph).onnx"
        let imported = try ONNXImport.read(path: path, output: c.output)
        #expect(imported.outputName == c.expected)
        let network = try Self.build(imported)
        network.isTraining = false
        network.needsInputGradient = false  // the first layer of its model, where its leading part runs as one oneDNN program
        let input = try NpyFile.read(from: "\(folder)/\(c.graph)-input.npy")
        let expected = try NpyFile.read(from: "\(folder)/\(c.graph)-\(c.expected).npy")
        for fused in [true, false] {
            network.fused = fused
            let output = try network.forward(input)
            #expect(output.shape == expected.shape)
            let difference = zip(output.buffer, expected.buffer).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference <= 1e-4, "Akin (fused: \(fused)) differs from onnxruntime by \(difference)")
        }
        #expect(c.graph == "squeeze_excitation_pools" || network.fusedNodes > 0)

        // Exported again, onnxruntime runs Akin's graph to the same numbers.
        let architecture = Architecture(name: c.graph, inputChannels: imported.inputShape[0], inputSize: imported.inputShape[1],
                                        layers: [.graph(imported.spec)])
        let exported = "\(folder)/\(c.graph)-\(c.expected)-exported.onnx"
        try ONNXExport.model(architecture: architecture, weights: imported.weights, metadata: [:], normalizeOutput: false)
            .write(to: URL(fileURLWithPath: exported))
        let python = try #require(Self.python)
        let run = try ReferencePython.run(python, ["-c", """
            import sys, numpy as np, onnx, onnxruntime
            onnx.checker.check_model(sys.argv[1], full_check=True)
            session = onnxruntime.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
            (out,) = session.run(None, {"images": np.load(sys.argv[2])})
            print(float(np.abs(out - np.load(sys.argv[3])).max()))
            """, exported, "\(folder)/\(c.graph)-input.npy", "\(folder)/\(c.graph)-\(c.expected).npy"])
        #expect(run.status == 0, "\(run.errors)")
        #expect((Double(run.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1) <= 1e-4, "exported: \(run.output)")
    }

    @Test(enabled)
    func anOperatorAkinCannotRunIsNamedWithItsPosition() throws {
        let path = try Self.folder.get() + "/unsupported.onnx"
        #expect {
            _ = try ONNXImport.read(path: path)
        } throws: { error in
            guard case let .unsupportedOperator(_, position, name, type) = error as? ONNXImportError else { return false }
            return position == 1 && name == "channel-softmax" && type == "Softmax" && "\(error)".contains("--output")
        }
    }

    @Test(enabled)
    func anOutputThatIsNotAVectorIsRefused() throws {
        let path = try Self.folder.get() + "/mobilenet_block.onnx"
        #expect {
            _ = try ONNXImport.read(path: path, output: "sum")
        } throws: { error in
            "\(error)".contains("not one vector") && "\(error)".contains("--output")
        }
        #expect {
            _ = try ONNXImport.read(path: path, output: "no-such-value")
        } throws: { error in
            "\(error)".contains("no value named \"no-such-value\"")
        }
    }

    @Test func aFileThatIsNotONNXIsRefusedByName() throws {
        let path = NSTemporaryDirectory() + "akin-\(UUID().uuidString).onnx"
        try Data("this is not a protobuf".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect { _ = try ONNXImport.read(path: path) } throws: { "\($0)".contains(path) }
        #expect { _ = try ONNXImport.read(path: path + ".missing") } throws: { "\($0)".contains(path + ".missing") }
    }
}
