extension TrainingOptions {
    /// One line that says what the run trains: network, embedding, batches, loss, optimizer,
    /// augmentation and length (what `akin train` prints before it starts).
    public var summary: String {
        let o = self
        let network = o.pretrained.map { "pretrained \($0.path)" + ($0.freeze ? " (frozen)" : $0.learningRateScale != 1 ? " (at \($0.learningRateScale)× the rate)" : "") }
            ?? (o.backbone == .resnet ? "resnet \(o.widths.map(String.init).joined(separator: "-")) × \(o.blocks.map(String.init).joined(separator: "-"))" : "seed network")
        let batch = o.loss != .triplet ? "\(o.classesPerBatch)×\(o.imagesPerClass) images"
            : o.miner == .random ? "\(o.batch) random triplets" : "\(o.classesPerBatch)×\(o.imagesPerClass) images, \(o.miner.rawValue) triplets"
        let ms = o.multiSimilarity
        let loss = switch o.loss {
        case .normalizedSoftmax: "normalized softmax T \(o.temperature)\(o.proxyMargin > 0 ? " margin \(o.proxyMargin)" : "")"
        case .multiSimilarity: "multi-similarity α \(ms.alpha) β \(ms.beta) base \(ms.base)\(ms.epsilon.map { " miner ε \($0)" } ?? "")"
        case .triplet: o.softMargin ? "soft margin" : "margin \(o.margin)"
        }
        let optimizer = o.optimizer == .sgd ? "SGD momentum \(o.momentum)" : o.optimizer.rawValue + (o.optimizer == .adamw ? " wd \(o.weightDecay)" : "")
        let instance = o.instanceWeight > 0 ? " + \(o.instanceWeight) × instance NT-Xent T \(o.instanceTemperature) on two views" : ""
        let proxies = o.addsProxyTerm ? " + \(o.proxyWeight) × normalized softmax T \(o.temperature)" : ""
        let pooled = o.pretrained != nil ? "backbone's" : "\(o.widths.last ?? 0)-d"
        let source = o.embeddingSource == .features ? " head (embeds the \(pooled) pooled features)" : ""
        return "\(network), \(o.embeddingDimension)-d\(o.normalize || o.distance == .cosine ? " unit" : "")\(source), \(batch), \(loss)\(proxies)\(instance), \(o.distance.rawValue), \(optimizer) lr \(o.learningRate) \(o.schedule.rawValue)\(o.warmupSteps > 0 ? " warm-up \(o.warmupSteps)" : ""), augment \(o.augmentation), \(o.steps) steps"
    }
}
