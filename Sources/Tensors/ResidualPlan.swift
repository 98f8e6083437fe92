/// One stage of a residual network: `blocks` basic blocks of `width` channels, the first of them
/// with `stride` (2 halves the resolution).
public struct ResidualStage: Codable, Hashable, Sendable {
    public var width: Int
    public var blocks: Int
    public var stride: Int

    public init(width: Int, blocks: Int, stride: Int) {
        self.width = width
        self.blocks = blocks
        self.stride = stride
    }
}

/// The convolution + batch-norm units of a small ResNet in their canonical order: the stem, then
/// for each basic block its two 3×3 units and, when the block changes shape, its 1×1 shortcut
/// projection. The fused kernel and the layer-by-layer reference both walk this plan, so their
/// parameters line up one for one.
public struct ResidualPlan: Hashable, Sendable {
    /// A convolution (no bias: the batch norm's shift plays its part) followed by batch norm, and
    /// ReLU when `relu`. Padding is (kernel − 1) / 2 on every side, as in torchvision's ResNet.
    public struct Unit: Hashable, Sendable {
        public var name: String
        public var inputChannels: Int
        public var outputChannels: Int
        public var kernelSize: Int
        public var stride: Int
        public var relu: Bool
    }

    /// out = ReLU(unit `second`(unit `first`(x)) + (unit `shortcut`(x) or x)).
    public struct Block: Hashable, Sendable {
        public var name: String
        public var first: Int
        public var second: Int
        public var shortcut: Int?
    }

    public let inputChannels: Int
    public let units: [Unit]
    public let blocks: [Block]
    public let outputChannels: Int

    public init(inputChannels: Int, stemWidth: Int, stages: [ResidualStage]) {
        var units = [Unit(name: "stem", inputChannels: inputChannels, outputChannels: stemWidth, kernelSize: 3, stride: 1, relu: true)]
        var blocks: [Block] = []
        var channels = stemWidth
        for (s, stage) in stages.enumerated() {
            for b in 0..<stage.blocks {
                let name = "stage\(s + 1).block\(b)", stride = b == 0 ? stage.stride : 1
                let first = units.count
                units.append(Unit(name: name + ".conv1", inputChannels: channels, outputChannels: stage.width, kernelSize: 3, stride: stride, relu: true))
                units.append(Unit(name: name + ".conv2", inputChannels: stage.width, outputChannels: stage.width, kernelSize: 3, stride: 1, relu: false))
                var shortcut: Int?
                if stride != 1 || channels != stage.width {
                    shortcut = units.count
                    units.append(Unit(name: name + ".shortcut", inputChannels: channels, outputChannels: stage.width, kernelSize: 1, stride: stride, relu: false))
                }
                blocks.append(Block(name: name, first: first, second: first + 1, shortcut: shortcut))
                channels = stage.width
            }
        }
        self.inputChannels = inputChannels
        self.units = units
        self.blocks = blocks
        outputChannels = channels
    }

    /// Output side length of a unit: (n + 2·pad − k) / stride + 1 with pad = (k − 1) / 2.
    public static func outputSize(_ n: Int, kernelSize: Int, stride: Int) -> Int {
        (n + 2 * ((kernelSize - 1) / 2) - kernelSize) / stride + 1
    }
}
