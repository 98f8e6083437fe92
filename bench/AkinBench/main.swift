// Times Akin the way bench/pytorch_seed.py times PyTorch: the seed network on 10,000 random
// 8-bit images held in memory.
//
//   akin-bench train --channels C [--steps N] [--threads T]   (median step time after warm-up)
//   akin-bench embed --channels C [--steps N] [--threads T]   (batches of 1024)
//   akin-bench tsne --input FILE --n N --d D                 (t-SNE of N×D float32 values; bench/tsne.sh)
//   akin-bench decode --folder DIR --size S                  (JPEG decoding, whole or scaled; bench/decode.sh)
//   akin-bench resnet --channels C [--batch B] [--profile]   (forward + backward of the default
//                                                              ResNet backbone alone, no loss)
//
// Prints one JSON object: images/s, peak RSS in bytes, and with --profile the time per layer.
import Foundation
import Images
import Networks
import Similarity
import Tensors

let arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String, _ fallback: Int) -> Int {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let v = Int(arguments[i + 1]) else { return fallback }
    return v
}
let mode = arguments.first ?? "train"
if mode == "tsne" {
    guard let i = arguments.firstIndex(of: "--input"), i + 1 < arguments.count else { fatalError("tsne needs --input FILE") }
    ComputeThreads.configure(count: option("--threads", ProcessInfo.processInfo.activeProcessorCount))
    try TSNEBench.run(input: arguments[i + 1], n: option("--n", 10_000), d: option("--d", 50), iterations: option("--iterations", 1000))
    exit(0)
}
if mode == "decode" {
    guard let i = arguments.firstIndex(of: "--folder"), i + 1 < arguments.count else { fatalError("decode needs --folder DIR") }
    try DecodeBench.run(folder: arguments[i + 1], size: option("--size", 224), repeats: option("--repeats", 3))
    exit(0)
}
let channels = option("--channels", 3), steps = option("--steps", 25), warmup = option("--warmup", 3)
let batch = option("--batch", 512)
ComputeThreads.configure(count: option("--threads", ProcessInfo.processInfo.activeProcessorCount))

var generator = RandomGenerator(seed: 1)
let count = 10_000
var pixels = [UInt8](repeating: 0, count: count * channels * 28 * 28)
for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: generator.next()) }
let images = ImageSet(imageSize: 28, channels: channels, classNames: (0..<10).map(String.init),
                      paths: (0..<count).map { "\($0)" }, labels: (0..<count).map { Int32($0 % 10) }, pixels: pixels)

func median(_ values: [Double]) -> Double { let s = values.sorted(); return s[s.count / 2] }
func peakRSS() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss * 1024
}

var times: [Double] = []
var perStep = 0
let profile = TrainingProfile()
if mode == "resnet" {
    let architecture = Architecture.residual(channels: channels)
    let network = architecture.build()
    Initialization.kaimingNormal(network, using: &generator)
    if arguments.contains("--profile") { network.profile = LayerProfile(network) }
    let input = Tensor(shape: [batch, channels, 28, 28])
    images.fill(input.pointer, indices: 0..<batch, preprocessing: Preprocessing(imageSize: 28, channels: channels))
    let upstream = Tensor(shape: [batch, architecture.outputDimension])
    for i in 0..<upstream.count { upstream[i] = generator.nextFloat() - 0.5 }
    perStep = batch
    for step in 0..<(warmup + steps) {
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try network.forward(input)
        try network.backward(upstream)
        if step >= warmup { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
    }
    if let layers = network.profile { profile.layers = layers; profile.steps = warmup + steps }
} else if mode == "train" {
    var options = TrainingOptions()
    options.steps = warmup + steps
    options.batch = batch
    options.channels = channels
    options.checkpointEvery = 1_000_000
    let checkpoint = NSTemporaryDirectory() + "akin-bench-\(getpid()).checkpoint"
    defer { try? FileManager.default.removeItem(atPath: checkpoint) }
    let trainer = Trainer(options: options, images: images, checkpointPath: checkpoint)
    if arguments.contains("--profile") { trainer.profile = profile }
    perStep = 3 * batch
    _ = try trainer.run(resume: false) { step in
        if step.step > warmup && step.step < options.steps { times.append(step.seconds) }
    }
} else {
    let architecture = Architecture.seed(channels: channels)
    let network = architecture.build()
    Initialization.xavierUniform(network, using: &generator)
    let model = EmbeddingModel(architecture: architecture, preprocessing: Preprocessing(imageSize: 28, channels: channels,
                               mean: [Float](repeating: 0.5, count: channels), std: [Float](repeating: 0.25, count: channels)),
                               distance: .l2, network: network)
    perStep = 1024
    var last = DispatchTime.now().uptimeNanoseconds
    var batches = 0
    while times.count < steps {
        _ = try model.embed(images, batchSize: perStep) { _, _ in
            let now = DispatchTime.now().uptimeNanoseconds
            batches += 1
            if batches > warmup && times.count < steps { times.append(Double(now - last) / 1e9) }
            last = now
        }
    }
}
var result: [String: Any] = ["images_per_second": Double(perStep) / median(times), "peak_rss_bytes": peakRSS(), "steps": times.count]
if arguments.contains("--profile"), mode != "embed" { result["profile"] = profile.table() }
print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
