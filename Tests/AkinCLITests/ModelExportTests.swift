import Foundation
import Images
import Search
import Similarity
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

/// `akin import onnx` from the shell: a small MobileNet-like graph (scripts/make_onnx_import_cases.py)
/// becomes a model file that embeds, evaluates and exports like a trained one.
@Suite("akin import onnx")
struct ModelImportTests {
    @Test(.enabled(if: ModelExportTests.python != nil || ReferencePython.underCI, "needs a Python with onnx and onnxruntime"))
    func anImportedNetworkEmbedsAndExports() throws {
        let python = try #require(ModelExportTests.python, "CI must install onnx and onnxruntime into ~/.cache/akin-test/venv")
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let script = ReferencePython.repositoryFile("scripts/make_onnx_import_cases.py")
        let made = try ReferencePython.run(python, [script, root])
        try #require(made.status == 0, "\(made.errors)")

        let model = root + "/imported.safetensors"
        let imported = try CLI.run(["import", "onnx", root + "/mobilenet_block.onnx", "--out", model, "--mean", "0.5,0.5,0.5", "--std", "0.25,0.25,0.25"])
        #expect(imported.status == 0, "\(imported.errors)")
        #expect(imported.errors.contains("3×16×16 → 8-d embedding"), "\(imported.errors)")

        // RGB pictures of three kinds at the network's size.
        var generator = RandomGenerator(seed: 3)
        for (label, name) in ["red", "green", "blue"].enumerated() {
            try FileManager.default.createDirectory(atPath: "\(root)/data/\(name)", withIntermediateDirectories: true)
            for i in 0..<4 {
                var pixels: [UInt8] = []
                for _ in 0..<(16 * 16) { for c in 0..<3 { pixels.append(UInt8(c == label ? 150 + generator.nextInt(below: 100) : generator.nextInt(below: 80))) } }
                try ImageEncoder.png(Image(width: 16, height: 16, channels: 3, pixels: pixels)).write(to: URL(fileURLWithPath: "\(root)/data/\(name)/\(i).png"))
            }
        }
        let embed = try CLI.run(["embed", "--model", model, "--out", root + "/g.akin", root + "/data"])
        #expect(embed.status == 0, "\(embed.errors)")
        let (ids, vectors, _) = try SQLiteGalleryStore.open(root + "/g.akin", readOnly: true).allVectors()
        #expect(ids.count == 12 && vectors.shape == [12, 8])
        let eval = try CLI.run(["eval", "--model", model, root + "/data"])
        #expect(eval.status == 0, "\(eval.errors)")
        let export = try CLI.run(["export", "onnx", "--model", model, "--out", root + "/again.onnx"])
        #expect(export.status == 0, "\(export.errors)")

        // Fine-tuned: a new head on the imported layers, frozen (head only, on cached features) or not.
        let weightsBefore = try SafeTensorsFile.read(from: model).tensors["layers.0.nodes.1.weight"]!.array
        for (name, extra) in [("frozen", ["--freeze-backbone"]), ("tuned", ["--backbone-lr-scale", "0.5"])] {
            let tuned = root + "/\(name).safetensors"
            let train = try CLI.run(["train", root + "/data", "--init-from", model, "--out", tuned, "--steps", "6", "--classes-per-batch", "3",
                                     "--images-per-class", "4", "--embedding-dim", "6", "--checkpoint-every", "3"] + extra)
            #expect(train.status == 0, "\(train.errors)")
            #expect(train.errors.contains("pretrained \(model)"), "\(train.errors)")
            let file = try SafeTensorsFile.read(from: tuned)
            #expect(file.tensors["layers.1.weight"]?.shape == [6, 8], "a new 6-d head on the 8 pooled features")
            let backbone = file.tensors["layers.0.nodes.1.weight"]!.array
            if name == "frozen" { #expect(backbone == weightsBefore) } else { #expect(backbone != weightsBefore) }
            let embedTuned = try CLI.run(["embed", "--model", tuned, "--out", root + "/\(name).akin", root + "/data"])
            #expect(embedTuned.status == 0, "\(embedTuned.errors)")
        }
        // Unless told otherwise, a fine-tune runs 10 passes over the images (here at least 20 steps of 12), the
        // backbone at 0.02× the head's rate, and embeds with the fine-tuned pooled features.
        let defaults = try CLI.run(["train", root + "/data", "--init-from", model, "--out", root + "/defaults.safetensors",
                                    "--classes-per-batch", "3", "--images-per-class", "4", "--embedding-dim", "6"])
        #expect(defaults.status == 0, "\(defaults.errors)")
        for phrase in ["(at 0.02× the rate)", "embeds the backbone's pooled features", " 20 steps"] {
            #expect(defaults.errors.contains(phrase), "\(phrase): \(defaults.errors)")
        }
        let frozenFeatures = try CLI.run(["train", root + "/data", "--init-from", model, "--out", root + "/x.safetensors", "--freeze-backbone",
                                          "--embed-from", "features"])
        #expect(frozenFeatures.status != 0 && frozenFeatures.errors.contains("stay the pretrained backbone's own"), "\(frozenFeatures.errors)")
        let misuse = try CLI.run(["train", root + "/data", "--out", root + "/x.safetensors", "--freeze-backbone"])
        #expect(misuse.status != 0 && misuse.errors.contains("add --init-from"), "\(misuse.errors)")

        // A center crop is recorded in the model, kept by fine-tuning, and changes what the network sees.
        let cropped = root + "/cropped.safetensors"
        let cropImport = try CLI.run(["import", "onnx", root + "/mobilenet_block.onnx", "--out", cropped, "--mean", "0.5,0.5,0.5",
                                      "--std", "0.25,0.25,0.25", "--center-crop", "0.75"])
        #expect(cropImport.status == 0 && cropImport.errors.contains("centre 0.75 of the shorter side"), "\(cropImport.errors)")
        #expect(try EmbeddingModel.load(from: cropped).preprocessing.centerCrop == 0.75)
        let croppedEmbed = try CLI.run(["embed", "--model", cropped, "--out", root + "/cropped.akin", root + "/data"])
        #expect(croppedEmbed.status == 0, "\(croppedEmbed.errors)")
        let croppedVectors = try SQLiteGalleryStore.open(root + "/cropped.akin", readOnly: true).allVectors().1
        #expect(croppedVectors.array != vectors.array, "the crop must change the embeddings")
        let croppedTrain = try CLI.run(["train", root + "/data", "--init-from", cropped, "--out", root + "/cropped-tuned.safetensors", "--steps", "2",
                                        "--classes-per-batch", "3", "--images-per-class", "4", "--freeze-backbone"])
        #expect(croppedTrain.status == 0, "\(croppedTrain.errors)")
        #expect(try EmbeddingModel.load(from: root + "/cropped-tuned.safetensors").preprocessing.centerCrop == 0.75)
        let badCrop = try CLI.run(["import", "onnx", root + "/mobilenet_block.onnx", "--out", root + "/bad.safetensors", "--center-crop", "1.5"])
        #expect(badCrop.status != 0 && badCrop.errors.contains("--center-crop"), "\(badCrop.errors)")

        let refused = try CLI.run(["import", "onnx", root + "/unsupported.onnx", "--out", root + "/no.safetensors"])
        #expect(refused.status != 0 && refused.errors.contains("node 1 (channel-softmax) is a Softmax"), "\(refused.errors)")
        #expect(!FileManager.default.fileExists(atPath: root + "/no.safetensors"))
    }
}
