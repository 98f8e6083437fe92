import Foundation
import Tensors
import TestSupport
import Testing

/// `akin export onnx` and `akin export pytorch` from the shell. The numerics are the library's
/// tests (ONNXExportTests against onnxruntime; bench/pytorch_export.sh against PyTorch); here the
/// commands write what they say, onnx's checker and onnxruntime accept the file, and bad input is
/// refused by name.
@Suite("akin export onnx / pytorch")
struct ModelExportTests {
    static let python = ReferencePython.path(importing: ["onnx", "onnxruntime", "numpy"])

    @Test(.enabled(if: python != nil || ReferencePython.underCI, "needs a Python with onnx and onnxruntime"))
    func exportsATrainedModel() throws {
        let python = try #require(Self.python, "CI must install onnx and onnxruntime into ~/.cache/akin-test/venv")
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDataset(at: root + "/data", perClass: 5)
        let model = root + "/m.safetensors"
        let train = try CLI.run(["train", root + "/data", "--out", model, "--widths", "8,16", "--blocks", "1,1"] + smallTraining)
        #expect(train.status == 0, "\(train.errors)")

        let onnx = try CLI.run(["export", "onnx", "--model", model, "--out", root + "/m.onnx"])
        #expect(onnx.status == 0, "\(onnx.errors)")
        #expect(onnx.errors.contains("images [batch, 1, 12, 12] → embedding [batch, 8], opset 17"), "\(onnx.errors)")
        let run = try ReferencePython.run(python, ["-c", """
            import sys, numpy as np, onnx, onnxruntime
            onnx.checker.check_model(sys.argv[1], full_check=True)
            session = onnxruntime.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
            (out,) = session.run(None, {"images": np.random.default_rng(0).normal(size=(3, 1, 12, 12)).astype(np.float32)})
            print(out.shape, float(np.abs(np.linalg.norm(out, axis=1) - 1).max()))
            """, root + "/m.onnx"])
        #expect(run.status == 0, "\(run.errors)")
        let printed = run.output.split(separator: " ")
        #expect(run.output.hasPrefix("(3, 8)") && (Double(printed.last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 1) < 1e-5,
                "\(run.output)")

        let pytorch = try CLI.run(["export", "pytorch", "--model", model, "--out", root + "/torch"])
        #expect(pytorch.status == 0, "\(pytorch.errors)")
        let stateDict = try SafeTensorsFile.read(from: root + "/torch/model.safetensors")
        // The stem, two units in the first block, three (with the shortcut) in the second: six batch norms.
        #expect(stateDict.int64Tensors.count == 6 && stateDict.int64Tensors.keys.allSatisfy { $0.hasSuffix(".norm.num_batches_tracked") })
        #expect(stateDict.tensors["layers.0.stem.norm.running_var"] != nil && stateDict.tensors["layers.1.weight"]?.shape == [8, 16])
        let compiled = try ReferencePython.run(python, ["-m", "py_compile", root + "/torch/akin_model.py"])
        #expect(compiled.status == 0, "\(compiled.errors)")
    }

    @Test func aMissingModelIsRefusedByName() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        for format in ["onnx", "pytorch"] {
            let result = try CLI.run(["export", format, "--model", root + "/none.safetensors", "--out", root + "/out"])
            #expect(result.status != 0 && result.errors.contains(root + "/none.safetensors"), "\(result.errors)")
            #expect(!FileManager.default.fileExists(atPath: root + "/out"))
        }
    }
}
