import Foundation
import Networks
import Tensors

public enum PyTorchExportError: Error, CustomStringConvertible {
    case importedNetwork

    public var description: String {
        "the model holds a network imported from ONNX, which akin_model.py cannot rebuild: export it with `akin export onnx` (PyTorch reads ONNX through onnx2torch or onnxruntime)"
    }
}

extension EmbeddingModel {
    /// The weights as a PyTorch `state_dict`: the names and shapes that `nn.Module`s built by
    /// `pytorchModuleSource` expect, batch norm with its running statistics and an int64
    /// `num_batches_tracked` (0: Akin does not count, and PyTorch reads it only when momentum is
    /// None), so `load_state_dict(strict=True)` takes it as it is. The model file's metadata
    /// (architecture, preprocessing) travels in the safetensors header.
    public func pytorchStateDict() throws -> SafeTensorsFile {
        if architecture.layers.contains(where: { if case .graph = $0 { true } else { false } }) { throw PyTorchExportError.importedNetwork }
        var file = try fileContents()
        for name in file.tensors.keys where name.hasSuffix(".running_mean") {
            file.int64Tensors[String(name.dropLast("running_mean".count)) + "num_batches_tracked"] = Int64Tensor(shape: [], values: [0])
        }
        return file
    }

    /// Writes `model.safetensors` (the state dict) and `akin_model.py` (the module and a loader)
    /// into `directory`, creating it if needed; each file whole or not at all.
    public func writePyTorch(to directory: String) throws {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw FileWriteError.cannotWrite(path: directory, reason: (error as NSError).localizedDescription)
        }
        try pytorchStateDict().write(to: directory + "/model.safetensors")
        try AtomicFile.write(Data(Self.pytorchModuleSource.utf8), to: directory + "/akin_model.py")
    }

    /// A small Python module that rebuilds any Akin architecture from the JSON in the safetensors
    /// metadata, layer for layer, with parameter names equal to Akin's.
    public static let pytorchModuleSource = #"""
        """An Akin embedding model in PyTorch, written by `akin export pytorch`.

            from akin_model import load
            model, preprocessing = load("model.safetensors")   # eval mode, weights loaded strictly
            embeddings = model(images)   # images: float32 [N, C, S, S], (pixel / 255 - mean) / std per channel

        `preprocessing` holds imageSize, channels, mean and std; images are resized to S x S (stretched,
        antialiased bilinear). The output is [N, D] at unit length, the vectors `akin embed` stores.
        The module names its parameters as Akin does, so its state_dict is model.safetensors as it is.
        Needs torch and safetensors.
        """
        import json

        import torch
        import torch.nn.functional as F
        from safetensors import safe_open
        from safetensors.torch import load_file
        from torch import nn


        class UnitLength(nn.Module):
            """x / sqrt(|x|^2 + 1e-12) per row, as Akin normalises (a zero row stays zero)."""

            def forward(self, x):
                return x * torch.rsqrt((x * x).sum(dim=1, keepdim=True) + 1e-12)


        class ConvNorm(nn.Module):
            """A convolution without bias followed by batch norm (and ReLU): one unit of Akin's ResNet."""

            def __init__(self, inputs, outputs, kernel, stride, relu):
                super().__init__()
                self.weight = nn.Parameter(torch.zeros(outputs, inputs, kernel, kernel))
                self.norm = nn.BatchNorm2d(outputs, eps=1e-5, momentum=0.1)
                self.stride, self.padding, self.relu = stride, (kernel - 1) // 2, relu

            def forward(self, x):
                x = self.norm(F.conv2d(x, self.weight, stride=self.stride, padding=self.padding))
                return F.relu(x) if self.relu else x


        class BasicBlock(nn.Module):
            def __init__(self, inputs, width, stride):
                super().__init__()
                self.conv1 = ConvNorm(inputs, width, 3, stride, True)
                self.conv2 = ConvNorm(width, width, 3, 1, False)
                self.shortcut = ConvNorm(inputs, width, 1, stride, False) if stride != 1 or inputs != width else None

            def forward(self, x):
                shortcut = x if self.shortcut is None else self.shortcut(x)
                return F.relu(self.conv2(self.conv1(x)) + shortcut)


        class ResNet(nn.Module):
            """3x3 stem, basic blocks by stage (stage1.block0, ...), global average pooling: [N, C, H, W] -> [N, width]."""

            def __init__(self, inputs, stemWidth, stages):
                super().__init__()
                self.stem = ConvNorm(inputs, stemWidth, 3, 1, True)
                self.stage_names = []
                channels = stemWidth
                for s, stage in enumerate(stages):
                    blocks = nn.ModuleDict()
                    for b in range(stage["blocks"]):
                        blocks[f"block{b}"] = BasicBlock(channels, stage["width"], stage["stride"] if b == 0 else 1)
                        channels = stage["width"]
                    self.add_module(f"stage{s + 1}", blocks)
                    self.stage_names.append(f"stage{s + 1}")

            def forward(self, x):
                x = self.stem(x)
                for name in self.stage_names:
                    for block in getattr(self, name).values():
                        x = block(x)
                return x.mean(dim=(2, 3))


        def layer(spec, shape):
            """The module for one of Akin's layer specs, and the per-image shape after it."""
            (kind, arguments), = spec.items()
            if kind == "conv2d":
                k = arguments["kernel"]
                return nn.Conv2d(shape[0], arguments["filters"], k, padding=(k - 1) // 2), [arguments["filters"]] + shape[1:]
            if kind == "relu":
                return nn.ReLU(), shape
            if kind == "maxPool2x2":
                return nn.MaxPool2d(2, 2, ceil_mode=True), [shape[0], (shape[1] + 1) // 2, (shape[2] + 1) // 2]
            if kind == "flatten":
                return nn.Flatten(), [shape[0] * shape[1] * shape[2]]
            if kind == "dense":
                return nn.Linear(shape[0], arguments["units"]), [arguments["units"]]
            if kind == "l2Normalize":
                return UnitLength(), shape
            if kind == "residual":
                stages = arguments["stages"]
                return ResNet(shape[0], arguments["stemWidth"], stages), [stages[-1]["width"]]
            raise ValueError(f"unknown Akin layer {kind!r}: export again with this file's Akin version")


        class AkinEmbedding(nn.Module):
            def __init__(self, architecture):
                super().__init__()
                shape = [architecture["inputChannels"], architecture["inputSize"], architecture["inputSize"]]
                modules = []
                for spec in architecture["layers"]:
                    module, shape = layer(spec, shape)
                    modules.append(module)
                self.layers = nn.Sequential(*modules)
                self.depth = len(modules)
                if architecture.get("embeddingSource") == "features":
                    # The projection head (trailing dense and unit-length layers) trains the loss only.
                    while self.depth > 0 and next(iter(architecture["layers"][self.depth - 1])) in ("dense", "l2Normalize"):
                        self.depth -= 1
                self.unit_length = UnitLength()

            def forward(self, images):
                x = images
                for module in self.layers[: self.depth]:
                    x = module(x)
                return self.unit_length(x)


        def load(path):
            with safe_open(path, framework="pt") as f:
                metadata = f.metadata()
            model = AkinEmbedding(json.loads(metadata["akin.architecture"]))
            model.load_state_dict(load_file(path), strict=True)
            model.eval()
            return model, json.loads(metadata["akin.preprocessing"])
        """#
}
