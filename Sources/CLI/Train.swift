import Akin
import ArgumentParser
import Foundation

extension Distance: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension BackboneKind: ExpressibleByArgument {}
extension MinerKind: ExpressibleByArgument {}
extension EmbeddingSource: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}
extension Recipe: ExpressibleByArgument {}
extension LossKind: ExpressibleByArgument {}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an embedding network on <DATA_DIR>/<class>/<image> and write the model file.",
        discussion: """
        --recipe default (the default): a small ResNet (32-64-128, one block each), 64-d unit-length embeddings, \
        P×K batches of 10 classes × 16 images, batch-all triplet loss with margin 0.2 on L2 distance, AdamW (lr 6e-3, \
        weight decay 1e-4) with 100 warm-up steps and cosine decay, no augmentation, 2000 steps. \
        --recipe seed: the seed article's 5-convolution network, 28-d, 512 random triplets a step, margin 0.5, \
        SGD with Nesterov momentum 0.99, lr 0.01, 2000 steps. Any option below overrides the recipe's value.
        """)

    @Argument(help: "Folder with one sub-folder of images per class.") var dataDir: String
    @Option(help: "Model file to write (safetensors).") var out: String
    @Option(help: "default or seed: the set of defaults the other options override.") var recipe: Recipe = .default
    @Option(help: "Training steps (default: the recipe's; with --init-from and no --freeze-backbone, 10 passes over the images).") var steps: Int?
    @Option(help: "Random miner: triplets per step (the network sees 3× as many images).") var batch: Int?
    @Option(help: "Other miners: classes per batch (P).") var classesPerBatch: Int?
    @Option(help: "Other miners: images per class in a batch (K).") var imagesPerClass: Int?
    @Option(help: "Network: resnet or seed.") var backbone: BackboneKind?
    @Option(help: "ResNet stage widths (e.g. 32,64,128; multiples of 16 run fastest).") var widths: String?
    @Option(help: "ResNet blocks per stage (e.g. 1,1,1).") var blocks: String?
    @Option(help: "Size of the embedding.") var embeddingDim: Int?
    @Flag(inversion: .prefixedNo, help: "Unit-length embeddings before the loss (always with --distance cosine).") var normalize: Bool?
    @Option(help: "What the model embeds with: head (the layer the loss trains) or features (the ResNet's or the pretrained backbone's pooled features under the head: better on classes never seen in training; the default with --init-from and no --freeze-backbone).") var embedFrom: EmbeddingSource?
    @Option(help: "triplet, normalized-softmax (learned class proxies) or multi-similarity.") var loss: LossKind?
    @Option(help: "Normalized softmax: temperature of the cosine logits.") var temperature: Float?
    @Option(help: "Normalized softmax: CosFace's additive margin on the true class (0: none).") var proxyMargin: Float?
    @Option(help: "Multi-similarity: weight α of positive pairs.") var msAlpha: Float?
    @Option(help: "Multi-similarity: weight β of negative pairs.") var msBeta: Float?
    @Option(help: "Multi-similarity: the cosine similarity the pair weights pivot on.") var msBase: Float?
    @Option(help: "Multi-similarity: the miner's ε (2 keeps every pair).") var msEpsilon: Float?
    @Option(help: "Weight of an instance-contrastive (NT-Xent) term on two augmented views of each image (0: off); keeps detail that unseen classes need.") var instanceWeight: Float?
    @Option(help: "Instance-contrastive term: temperature of its cosine logits.") var instanceTemperature: Float?
    @Option(help: "Weight of a normalized-softmax term (learned class proxies, --temperature) added to the triplet or multi-similarity loss (0: off).") var proxyWeight: Float?
    @Option(help: "Triplet margin.") var margin: Float?
    @Option(help: "Distance inside the loss: l2 or cosine.") var distance: Distance?
    @Option(help: "Triplets: random (the seed's), all (batch-all), hard (batch-hard) or semi-hard.") var miner: MinerKind?
    @Flag(help: "softplus(D(a,p) − D(a,n)) instead of a hinge with a margin.") var softMargin = false
    @Option(help: "sgd (momentum, Nesterov), adam or adamw.") var optimizer: OptimizerKind?
    @Option(help: "Peak learning rate.") var lr: Float?
    @Option(help: "SGD momentum (Nesterov).") var momentum: Float?
    @Option(help: "AdamW's decoupled weight decay.") var weightDecay: Float?
    @Option(help: "Steps of linear learning-rate warm-up.") var warmupSteps: Int?
    @Option(help: "Learning rate after warm-up: constant or cosine (to 0 at the last step).") var schedule: LearningRateSchedule?
    @Option(help: "Augmentation: random shift of up to N pixels, black entering.") var cropPadding: Int?
    @Flag(inversion: .prefixedNo, help: "Augmentation: random horizontal flips (leave off where a mirror changes the class).") var flip: Bool?
    @Option(help: "Augmentation: random rotation up to ± degrees.") var rotate: Float?
    @Option(help: "Augmentation: random scale in [1 − s, 1 + s].") var scaleJitter: Float?
    @Option(help: "Augmentation: random translation up to ± this fraction of the size.") var translate: Float?
    @Option(help: "Augmentation: brightness factor in [1 − b, 1 + b].") var brightness: Float?
    @Option(help: "Augmentation: contrast factor in [1 − c, 1 + c].") var contrast: Float?
    @Flag(help: "No augmentation at all.") var noAugment = false
    @Option(help: "Images are resized to this size × size (default: 28, or the --init-from model's).") var imageSize: Int?
    @Option(help: "Fine-tune this pretrained model (from `akin import onnx`, or one trained on it): its layers before any head, a new projection head, its preprocessing.")
    var initFrom: String?
    @Flag(help: "With --init-from: train the head only, on features the backbone computes once per image.") var freezeBackbone = false
    @Option(help: "With --init-from: the backbone's learning rate relative to the head's (default 0.02).") var backboneLrScale: Float?
    @Option(help: "1 (gray) or 3 (RGB). Default: 1 when every sampled image is gray, else 3.") var channels: Int?
    @Option(help: "Hold out this fraction of each class's images to validate on.") var valSplit: Double?
    @Option(help: "Hold out this many whole classes to validate on (measures unseen classes).") var valClasses: Int?
    @Option(help: "With --val-split or --val-classes: validate every N steps (default 200, and at the end); the model file keeps the best by MAP@R.") var valEvery: Int?
    @Option(help: "Stop after this many validations without a better MAP@R.") var patience: Int?
    @Option(help: "Write a checkpoint every N steps.") var checkpointEvery: Int?
    @Option(help: "Checkpoint file (default: <out>.checkpoint).") var checkpoint: String?
    @Flag(help: "Continue from the checkpoint (same data and options; --steps may grow, --lr may change).") var resume = false
    @Flag(help: "Start afresh even though an unfinished run's checkpoint is there.") var overwrite = false
    @Option(help: "Seed for initialisation, sampling, augmentation and validation splits.") var seed: UInt64 = 0
    @Option(help: "Write one row per step to this file: CSV, or JSON lines if it ends in .jsonl.") var log: String?
    @Option(help: "Write TensorBoard event files into this folder (scalars, weight histograms).") var logdir: String?
    @Option(help: "With --logdir: scalars every N steps (default 10).") var scalarsEvery: Int?
    @Option(help: "With --logdir: weight histograms every N steps (default 100).") var histogramsEvery: Int?
    @Option(help: "Compute threads (default: all cores; with --distributed, the cores shared among the processes on each machine).") var threads: Int?
    @Flag(help: "Data-parallel over the processes mpirun starts: `mpirun -np N akin train … --distributed`. Each runs its share of every batch; process 0 writes the checkpoint, log and model.")
    var distributed = false
    @OptionGroup var decoding: DecodingOptions
    @Flag(help: "Print where the time went: each stage of a step and each layer.") var profile = false

    static func integers(_ text: String, _ name: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--\(name) takes positive integers separated by commas, like 32,64,128; got \(text)")
        }
        return values.map { $0! }
    }

    func validate() throws {
        for (value, name) in [(steps, "steps"), (batch, "batch"), (classesPerBatch, "classes-per-batch"), (checkpointEvery, "checkpoint-every"),
                              (embeddingDim, "embedding-dim"), (imageSize, "image-size"), (valEvery, "val-every"),
                              (scalarsEvery, "scalars-every"), (histogramsEvery, "histograms-every")] {
            if let value, value <= 0 { throw ValidationError("--\(name) must be positive, not \(value)") }
        }
        try refuseWhatDoesNotApply()
        if let imagesPerClass, imagesPerClass < 2 { throw ValidationError("--images-per-class must be at least 2 (an anchor needs a positive)") }
        if let channels, channels != 1 && channels != 3 { throw ValidationError("--channels must be 1 or 3, not \(channels)") }
        if let lr { guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number") } }
        if let margin, margin < 0 { throw ValidationError("--margin must not be negative") }
        if let temperature, !(temperature > 0) { throw ValidationError("--temperature must be positive, like 0.05") }
        for (value, name) in [(msAlpha, "ms-alpha"), (msBeta, "ms-beta"), (instanceTemperature, "instance-temperature")] {
            if let value, !(value > 0) { throw ValidationError("--\(name) must be positive, not \(value)") }
        }
        if initFrom == nil && (freezeBackbone || backboneLrScale != nil) {
            throw ValidationError("--freeze-backbone and --backbone-lr-scale apply to a pretrained backbone: add --init-from MODEL")
        }
        if freezeBackbone && embedFrom == .features {
            throw ValidationError("with --freeze-backbone the pooled features stay the pretrained backbone's own: embed with \(initFrom ?? "the imported model") as it is, or drop one of the two")
        }
        if freezeBackbone && backboneLrScale != nil {
            throw ValidationError("--backbone-lr-scale sets how fast the backbone learns; with --freeze-backbone it does not learn: drop one")
        }
        if let backboneLrScale, !(backboneLrScale >= 0 && backboneLrScale.isFinite) { throw ValidationError("--backbone-lr-scale must be a number ≥ 0, like 0.1") }
        if initFrom != nil && (backbone != nil || widths != nil || blocks != nil) {
            throw ValidationError("--init-from brings its own network: drop --backbone, --widths and --blocks")
        }
        if freezeBackbone && (cropPadding != nil || flip == true || rotate != nil || scaleJitter != nil || translate != nil || brightness != nil || contrast != nil) {
            throw ValidationError("--freeze-backbone computes each image's features once, so augmentation cannot apply: drop the augmentation options")
        }
        if initFrom == nil, embedFrom == .features, (backbone ?? TrainingOptions(recipe: recipe).backbone) != .resnet {
            throw ValidationError("--embed-from features takes the ResNet's pooled features; the seed network has none: add --backbone resnet")
        }
        if let proxyWeight, proxyWeight > 0, loss == .normalizedSoftmax {
            throw ValidationError("--proxy-weight adds the normalized-softmax term to another loss; with --loss normalized-softmax it is the loss already: drop --proxy-weight")
        }
        if let valSplit, !(valSplit > 0 && valSplit < 1) { throw ValidationError("--val-split must be between 0 and 1, like 0.1") }
        if valSplit != nil && valClasses != nil { throw ValidationError("give --val-split or --val-classes, not both") }
        if let patience, patience < 1 { throw ValidationError("--patience counts validations without improvement: at least 1, not \(patience)") }
        if patience != nil && valSplit == nil && valClasses == nil { throw ValidationError("--patience needs a validation set: add --val-split or --val-classes") }
        for (value, name) in [(momentum, "momentum"), (weightDecay, "weight-decay"), (proxyMargin, "proxy-margin"), (rotate, "rotate"), (msEpsilon, "ms-epsilon"), (instanceWeight, "instance-weight"), (proxyWeight, "proxy-weight"),
                              (scaleJitter, "scale-jitter"), (translate, "translate"), (brightness, "brightness"), (contrast, "contrast")] {
            if let value, !(value >= 0) { throw ValidationError("--\(name) must not be negative, not \(value)") }
        }
        if noAugment && (cropPadding != nil || flip == true || rotate != nil || scaleJitter != nil || translate != nil || brightness != nil || contrast != nil) {
            throw ValidationError("--no-augment turns every augmentation off; drop it or the augmentation options")
        }
        if let blocks, widths == nil, try Self.integers(blocks, "blocks").count != TrainingOptions(recipe: recipe).widths.count {
            throw ValidationError("--blocks needs one entry per stage of the recipe's widths \(TrainingOptions(recipe: recipe).widths.map(String.init).joined(separator: ",")), or give --widths too")
        }
        if let widths {
            let values = try Self.integers(widths, "widths")
            if let blocks, try Self.integers(blocks, "blocks").count != values.count {
                throw ValidationError("--widths and --blocks need one entry per stage each")
            }
        }
    }

    /// A flag the run would not use is refused, naming what would use it: the recipe's loss, miner
    /// and optimizer as overridden decide what applies.
    func refuseWhatDoesNotApply() throws {
        let base = TrainingOptions(recipe: recipe)
        let usedLoss = loss ?? base.loss, usedMiner = miner ?? base.miner, usedOptimizer = optimizer ?? base.optimizer
        let randomTriplets = usedLoss == .triplet && !usedMiner.minesBatches
        if batch != nil && !randomTriplets {
            throw ValidationError("--batch counts the random miner's triplets; this run's batches are --classes-per-batch × --images-per-class (add --miner random to draw triplets at random)")
        }
        if (classesPerBatch != nil || imagesPerClass != nil) && randomTriplets {
            throw ValidationError("--classes-per-batch and --images-per-class shape P×K batches; the random miner draws --batch triplets instead (pick --miner all, hard or semi-hard)")
        }
        if usedLoss != .triplet && (miner != nil || margin != nil || softMargin) {
            throw ValidationError("--miner, --margin and --soft-margin are the triplet loss's; --loss \(usedLoss.rawValue) does not use them")
        }
        if softMargin && !usedMiner.minesBatches {
            throw ValidationError("--soft-margin applies to triplets mined from P×K batches: pick --miner all, hard or semi-hard")
        }
        if weightDecay != nil && usedOptimizer != .adamw {
            throw ValidationError("--weight-decay is AdamW's decoupled weight decay; this run's optimizer is \(usedOptimizer.rawValue) (add --optimizer adamw)")
        }
        if momentum != nil && usedOptimizer != .sgd {
            throw ValidationError("--momentum is SGD's; this run's optimizer is \(usedOptimizer.rawValue) (add --optimizer sgd)")
        }
        if (temperature != nil || proxyMargin != nil) && usedLoss != .normalizedSoftmax && (proxyWeight ?? base.proxyWeight) <= 0 {
            throw ValidationError("--temperature and --proxy-margin are the normalized-softmax term's: add --loss normalized-softmax or --proxy-weight W")
        }
        if instanceTemperature != nil && (instanceWeight ?? base.instanceWeight) <= 0 {
            throw ValidationError("--instance-temperature is the instance-contrastive term's: add --instance-weight W")
        }
        if (msAlpha != nil || msBeta != nil || msBase != nil || msEpsilon != nil) && usedLoss != .multiSimilarity {
            throw ValidationError("--ms-alpha, --ms-beta, --ms-base and --ms-epsilon are the multi-similarity loss's: add --loss multi-similarity")
        }
        if valEvery != nil && valSplit == nil && valClasses == nil {
            throw ValidationError("--val-every needs a validation set: add --val-split or --val-classes")
        }
        if (scalarsEvery != nil || histogramsEvery != nil) && logdir == nil {
            throw ValidationError("--scalars-every and --histograms-every are for TensorBoard: add --logdir DIR")
        }
    }

    /// The flags that change the recipe's options; steps, warm-up, embedding source, size, channels
    /// and seed are resolved against the data by `TrainingRun`.
    func customize(_ o: inout TrainingOptions) throws {
        if let batch { o.batch = batch }
        if let classesPerBatch { o.classesPerBatch = classesPerBatch }
        if let imagesPerClass { o.imagesPerClass = imagesPerClass }
        if let backbone { o.backbone = backbone }
        if let widths {
            o.widths = try Self.integers(widths, "widths")
            if blocks == nil { o.blocks = [Int](repeating: 1, count: o.widths.count) }
        }
        if let blocks { o.blocks = try Self.integers(blocks, "blocks") }
        guard o.widths.count == o.blocks.count else { throw ValidationError("--blocks needs one entry per stage of --widths \(o.widths)") }
        if let embeddingDim { o.embeddingDimension = embeddingDim }
        if let normalize { o.normalize = normalize }
        if let loss { o.loss = loss }
        if let temperature { o.temperature = temperature }
        if let proxyMargin { o.proxyMargin = proxyMargin }
        if let msAlpha { o.multiSimilarity.alpha = msAlpha }
        if let msBeta { o.multiSimilarity.beta = msBeta }
        if let msBase { o.multiSimilarity.base = msBase }
        if let msEpsilon { o.multiSimilarity.epsilon = msEpsilon }
        if let instanceWeight { o.instanceWeight = instanceWeight }
        if let instanceTemperature { o.instanceTemperature = instanceTemperature }
        if let proxyWeight { o.proxyWeight = proxyWeight }
        if let margin { o.margin = margin }
        if let distance { o.distance = distance }
        if let miner { o.miner = miner }
        if softMargin { o.softMargin = true }
        if let optimizer { o.optimizer = optimizer }
        if let lr { o.learningRate = lr }
        if let momentum { o.momentum = momentum }
        if let weightDecay { o.weightDecay = weightDecay }
        if let schedule { o.schedule = schedule }
        if noAugment { o.augmentation = .none }
        if let cropPadding { o.augmentation.cropPadding = cropPadding }
        if let flip { o.augmentation.horizontalFlip = flip }
        if let rotate { o.augmentation.rotationDegrees = rotate }
        if let scaleJitter { o.augmentation.scaleJitter = scaleJitter }
        if let translate { o.augmentation.translateFraction = translate }
        if let brightness { o.augmentation.brightness = brightness }
        if let contrast { o.augmentation.contrast = contrast }
        do { try o.augmentation.validate() } catch { throw ValidationError(error.description) }
        if let checkpointEvery { o.checkpointEvery = checkpointEvery }
    }

    func run() throws {
        let group: MPIGroup?
        do {
            if !distributed { try MPIGroup.requireAlone() }
            group = distributed ? try MPIGroup.join() : nil
        } catch { throw ValidationError(error.description) }
        let leader = group?.isLeader ?? true
        if !leader { Console.quiet.store(true, ordering: .relaxed) }
        try AkinCommand.configureThreads(threads ?? group.map { max(1, ProcessInfo.processInfo.activeProcessorCount / $0.localSize) })
        decoding.apply()
        let checkpointPath = checkpoint ?? out + ".checkpoint"
        if !resume && !overwrite, let unfinished = Trainer.unfinishedRun(at: checkpointPath) {
            throw ValidationError("\(checkpointPath) holds an unfinished run (step \(unfinished.step) of \(unfinished.steps)). Pass --resume to continue it, or --overwrite to start again.")
        }
        let pretrained = try initFrom.map { try EmbeddingModel.load(from: $0) }
        var run = TrainingRun(dataFolder: dataDir, recipe: recipe)
        run.customize = customize
        run.steps = steps
        run.warmupSteps = warmupSteps
        run.channels = channels
        run.imageSize = imageSize
        run.embeddingSource = embedFrom
        run.pretrained = pretrained.map { TrainingRun.Pretrained(path: initFrom!, model: $0, freeze: freezeBackbone, learningRateScale: backboneLrScale) }
        run.holdout = valSplit.map(TrainingRun.Holdout.fraction) ?? valClasses.map(TrainingRun.Holdout.classes)
        run.validateEvery = valEvery ?? 200
        run.patience = patience
        run.seed = seed
        run.group = group
        let prepared = try run.prepare(reporter: ConsoleReporter())
        let options = prepared.options, held = prepared.validationImages

        Console.note("recipe \(options.recipe.rawValue): \(options.summary)")

        let trainer = prepared.makeTrainer(checkpointPath: checkpointPath, bestModelPath: held == nil ? nil : out)
        trainer.onBackboneValidation = { v in
            Console.note(String(format: "the pretrained backbone as it is (pooled features, no training): P@1 %.4f MAP@R %.4f; kept unless fine-tuning beats it", v.precisionAt1, v.mapAtR))
        }
        if freezeBackbone {
            let caching = ProgressBar("backbone features", total: prepared.images.count, unit: "images", plainInterval: 5)
            trainer.onFeatureCaching = { done, _ in caching.update(done) }
        }
        if profile { trainer.profile = TrainingProfile() }
        let logWriter = try log.flatMap { leader ? try TrainingLog(path: $0, resuming: resume, note: Console.note) : nil }
        let board = try logdir.flatMap { !leader ? nil : try TensorBoardLog(directory: $0, scalarsEvery: scalarsEvery ?? 10, histogramsEvery: histogramsEvery ?? 100) }
        if let board, let logdir { Console.note("TensorBoard events: \(board.path) (view with: tensorboard --logdir \(logdir))") }
        let perStep = options.imagesPerStep
        let bar = ProgressBar("training", total: options.steps, unit: "images", unitsPerStep: perStep, plainInterval: 10)
        let started = Date()
        var firstStep: Int?, lastStep = 0
        var recentSeconds: [Double] = []
        var lastCollapseWarning = -1_000_000
        let model = try trainer.run(resume: resume) { step in
            if firstStep == nil { firstStep = step.step }
            lastStep = step.step
            recentSeconds.append(step.seconds)
            if recentSeconds.count > 20 { recentSeconds.removeFirst() }
            let rate = Double(perStep * recentSeconds.count) / recentSeconds.reduce(0, +)
            let s = step.statistics
            bar.update(step.step, detail: String(format: "loss %.4f active %.2f d+ %.3f d- %.3f", s.loss, s.activeFraction,
                                                 s.meanPositiveDistance, s.meanNegativeDistance), rate: rate)
            if let v = step.validation {
                Console.note(String(format: "step %d validation: P@1 %.4f MAP@R %.4f%@", v.step, v.precisionAt1, v.mapAtR, v.improved ? " (best so far: model written)" : ""))
            }
            if step.collapsed && step.step - lastCollapseWarning >= 100 {
                lastCollapseWarning = step.step
                Console.note(String(format: "warning: step %d: the embedding has collapsed (mean distance %.4f to positives, %.4f to negatives, loss %.3f at the margin). Lower --lr, use --miner all or semi-hard, or a larger --margin.", step.step, s.meanPositiveDistance, s.meanNegativeDistance, s.loss))
            }
            logWriter?.append(step)
            board?.append(step, parameters: trainer.trainingNetwork?.parameters ?? [])
        }
        board?.close()
        if held == nil && leader { try model.save(to: out) }
        let elapsed = Date().timeIntervalSince(started)
        let trained = firstStep.map { lastStep - $0 + 1 } ?? 0
        if trained > 0 {
            Console.note(String(format: "trained %d steps in %@: %.0f images/s", trained, Console.formatDuration(elapsed),
                                Double(trained * perStep) / elapsed))
        }
        if trainer.stoppedEarly { Console.note("stopped early: validation MAP@R did not improve for \(patience ?? 0) validations") }
        if let table = trainer.profile?.table() { Console.note(table) }
        if pretrained != nil, let best = trainer.bestValidation {
            Console.note(best.step == 0
                ? String(format: "fine-tuning did not beat the untrained backbone on the held-out images (MAP@R %.4f): the model file is the backbone as it is", best.mapAtR)
                : String(format: "fine-tuning beat the untrained backbone: best MAP@R %.4f at step %d", best.mapAtR, best.step))
        }
        Console.note("model written to \(out)\(held != nil ? " (the best by validation MAP@R)" : "") (checkpoint: \(checkpointPath))")
        group?.finish()
    }
}
