import ArgumentParser
import Foundation
import Images
import Similarity
import Tensors

extension Distance: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a triplet network on <DATA_DIR>/<class>/<image> and write the model file.",
        discussion: "Defaults are the seed recipe: its 5-convolution network, random triplets, L2 distance, margin 0.5, SGD with Nesterov momentum 0.99, lr 0.01, 512 triplets a step, 2000 steps.")

    @Argument(help: "Folder with one sub-folder of images per class.") var dataDir: String
    @Option(help: "Model file to write (safetensors).") var out: String
    @Option(help: "Training steps.") var steps = 2000
    @Option(help: "Triplets per step (the network sees 3× as many images).") var batch = 512
    @Option(help: "Triplet margin.") var margin: Float = 0.5
    @Option(help: "Distance inside the loss: l2 or cosine.") var distance: Distance = .l2
    @Option(help: "sgd (with momentum, Nesterov) or adam.") var optimizer: OptimizerKind = .sgd
    @Option(help: "Learning rate.") var lr: Float = 0.01
    @Option(help: "SGD momentum (Nesterov).") var momentum: Float = 0.99
    @Option(help: "Images are resized to this size × size.") var imageSize = 28
    @Option(help: "1 (gray) or 3 (RGB). Default: 1 when every sampled image is gray, else 3.") var channels: Int?
    @Option(help: "Size of the embedding.") var embeddingDim = 28
    @Option(help: "Write a checkpoint every N steps.") var checkpointEvery = 50
    @Option(help: "Checkpoint file (default: <out>.checkpoint).") var checkpoint: String?
    @Flag(help: "Continue from the checkpoint (same data and options; --steps may grow, --lr may change).") var resume = false
    @Flag(help: "Start afresh even though an unfinished run's checkpoint is there.") var overwrite = false
    @Option(help: "Seed for initialisation and sampling: the same seed gives the same run.") var seed: UInt64 = 0
    @Option(help: "Write one row per step to this file: CSV, or JSON lines if it ends in .jsonl.") var log: String?
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @Flag(help: "Print where the time went: each stage of a step and each layer.") var profile = false

    func validate() throws {
        guard steps > 0, batch > 0, checkpointEvery > 0, imageSize > 0, embeddingDim > 0 else {
            throw ValidationError("--steps, --batch, --checkpoint-every, --image-size and --embedding-dim must be positive")
        }
        if let channels, channels != 1 && channels != 3 { throw ValidationError("--channels must be 1 or 3, not \(channels)") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number") }
        guard margin >= 0 else { throw ValidationError("--margin must not be negative") }
    }

    func run() throws {
        Akin.configureThreads(threads)
        let checkpointPath = checkpoint ?? out + ".checkpoint"
        if !resume && !overwrite, let unfinished = Trainer.unfinishedRun(at: checkpointPath) {
            throw ValidationError("\(checkpointPath) holds an unfinished run (step \(unfinished.step) of \(unfinished.steps)). Pass --resume to continue it, or --overwrite to start again.")
        }
        let folders = try ClassFolders.scan(dataDir)
        let channelCount = channels ?? ChannelDetection.channels(of: folders)
        Console.note("\(folders.files.count) images in \(folders.classNames.count) classes; \(channelCount) channel\(channelCount == 1 ? "" : "s"), \(imageSize)×\(imageSize)")
        let images = ImageLoading.load(folders.files, classNames: folders.classNames, imageSize: imageSize, channels: channelCount)
        try ChannelDetection.requireTrainable(images, root: dataDir)

        var options = TrainingOptions()
        options.steps = steps
        options.batch = batch
        options.margin = margin
        options.distance = distance
        options.optimizer = optimizer
        options.learningRate = lr
        options.momentum = momentum
        options.imageSize = imageSize
        options.channels = channelCount
        options.embeddingDimension = embeddingDim
        options.checkpointEvery = checkpointEvery
        options.seed = seed

        let trainer = Trainer(options: options, images: images, checkpointPath: checkpointPath)
        if profile { trainer.profile = TrainingProfile() }
        let logWriter = try log.map { try TrainingLog(path: $0, resuming: resume) }
        let bar = ProgressBar("training", total: steps, unit: "triplets", unitsPerStep: batch, plainInterval: 10)
        let started = Date()
        var firstStep: Int?
        var recentSeconds: [Double] = []
        let model = try trainer.run(resume: resume) { step in
            if firstStep == nil { firstStep = step.step }
            recentSeconds.append(step.seconds)
            if recentSeconds.count > 20 { recentSeconds.removeFirst() }
            let rate = Double(batch * recentSeconds.count) / recentSeconds.reduce(0, +)
            let s = step.statistics
            bar.update(step.step, detail: String(format: "loss %.4f active %.2f", s.loss, s.activeFraction), rate: rate)
            logWriter?.append(step)
        }
        try model.save(to: out)
        let elapsed = Date().timeIntervalSince(started)
        let trained = steps - (firstStep ?? steps + 1) + 1
        if trained > 0 {
            let triplets = Double(trained * batch) / elapsed
            Console.note(String(format: "trained %d steps in %@: %.0f triplets/s, %.0f images/s", trained,
                                Console.formatDuration(elapsed), triplets, 3 * triplets))
        }
        if let table = trainer.profile?.table() { Console.note(table) }
        Console.note("model written to \(out) (checkpoint: \(checkpointPath))")
    }
}

/// One row per step, flushed as it goes, so a crashed run's log is complete up to the crash.
final class TrainingLog {
    private let path: String
    private var handle: FileHandle
    private let jsonLines: Bool
    private var trimmed: Bool

    init(path: String, resuming: Bool) throws {
        self.path = path
        jsonLines = path.hasSuffix(".jsonl")
        trimmed = !resuming
        let manager = FileManager.default
        if !resuming || !manager.fileExists(atPath: path) {
            let header = jsonLines ? "" : "step,loss,active_fraction,mean_positive_distance,mean_negative_distance,learning_rate\n"
            guard manager.createFile(atPath: path, contents: Data(header.utf8)) else {
                throw ValidationError("cannot create the log file \(path)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw ValidationError("cannot write the log file \(path)") }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    func append(_ step: TrainingStep) {
        if !trimmed { trimRows(from: step.step) }
        let s = step.statistics
        let line = jsonLines
            ? "{\"step\":\(step.step),\"loss\":\(s.loss),\"active_fraction\":\(s.activeFraction),\"mean_positive_distance\":\(s.meanPositiveDistance),\"mean_negative_distance\":\(s.meanNegativeDistance),\"learning_rate\":\(step.learningRate)}\n"
            : "\(step.step),\(s.loss),\(s.activeFraction),\(s.meanPositiveDistance),\(s.meanNegativeDistance),\(step.learningRate)\n"
        handle.write(Data(line.utf8))
    }

    /// A resumed run repeats the steps after its checkpoint: drop the interrupted run's rows for them.
    private func trimRows(from firstStep: Int) {
        trimmed = true
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n").filter { line in
            let digits = line.drop { !$0.isNumber }.prefix { $0.isNumber }
            guard let step = Int(digits), line.first != "s" else { return true }  // the CSV header
            return step < firstStep
        }
        // Replace the file whole, so a crash here cannot lose the rows that were kept.
        do {
            try AtomicFile.write(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: path)
            if let reopened = FileHandle(forWritingAtPath: path) {
                try? handle.close()
                reopened.seekToEndOfFile()
                handle = reopened
            }
        } catch {
            Console.note("could not trim the log \(path): \(error); it may repeat steps after the checkpoint")
        }
    }
}

enum ChannelDetection {
    /// 1 when a sample of up to 8 images per class decodes with R = G = B everywhere, else 3.
    static func channels(of folders: ClassFolders) -> Int {
        var perClass = [Int](repeating: 0, count: folders.classNames.count)
        for file in folders.files where perClass[file.label] < 8 {
            perClass[file.label] += 1
            guard let image = try? ImageDecoder.decodeFile(file.path, channels: 3) else { continue }
            var i = 0
            while i < image.pixels.count {
                if image.pixels[i] != image.pixels[i + 1] || image.pixels[i] != image.pixels[i + 2] { return 3 }
                i += 3
            }
        }
        return 1
    }

    /// After skipping bad files, every class still needs two images and there must be two classes.
    static func requireTrainable(_ images: ImageSet, root: String) throws {
        var counts = [Int](repeating: 0, count: images.classNames.count)
        for label in images.labels { counts[Int(label)] += 1 }
        if let small = counts.firstIndex(where: { $0 < 2 }) {
            throw DatasetError.classTooSmall(root: root, className: images.classNames[small], images: counts[small])
        }
    }
}
