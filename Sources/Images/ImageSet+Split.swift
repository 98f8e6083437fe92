import Tensors

extension ImageSet {
    /// The images at `indices`, in that order, with the same class names (labels keep their meaning).
    public func subset(_ indices: [Int]) -> ImageSet {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(indices.count * valuesPerImage)
        self.pixels.withUnsafeBufferPointer { all in
            for index in indices {
                pixels.append(contentsOf: all[(index * valuesPerImage)..<((index + 1) * valuesPerImage)])
            }
        }
        return ImageSet(imageSize: imageSize, channels: channels, classNames: classNames,
                        paths: indices.map { paths[$0] }, labels: indices.map { labels[$0] }, pixels: pixels)
    }

    /// Holds out about `fraction` of every class's images, chosen at random with `seed`: at least two
    /// from each class of four or more (a held-out image needs another of its class to be scored),
    /// none from smaller classes (they stay trainable).
    public func splitByImage(fraction: Double, seed: UInt64) -> (training: ImageSet, validation: ImageSet) {
        // Its own stream: the run's seed also initialises the weights.
        var generator = RandomGenerator(seed: seed ^ 0x5350_4C49_5420_4259)
        var members = [[Int]](repeating: [], count: classNames.count)
        for (index, label) in labels.enumerated() { members[Int(label)].append(index) }
        var training: [Int] = [], validation: [Int] = []
        for var list in members {
            list.shuffle(using: &generator)
            let held = list.count >= 4 ? min(list.count - 2, max(2, Int((Double(list.count) * fraction).rounded()))) : 0
            validation += list.prefix(held)
            training += list.dropFirst(held)
        }
        return (subset(training.sorted()), subset(validation.sorted()))
    }

    /// Holds out `count` whole classes, chosen at random with `seed`: validation then measures
    /// what matters for unseen classes.
    public func splitByClass(count: Int, seed: UInt64) -> (training: ImageSet, validation: ImageSet, heldOut: [String]) {
        var generator = RandomGenerator(seed: seed ^ 0x5350_4C49_5420_4259)
        var order = Array(classNames.indices)
        order.shuffle(using: &generator)
        let held = Set(order.prefix(count))
        let training = labels.indices.filter { !held.contains(Int(labels[$0])) }
        let validation = labels.indices.filter { held.contains(Int(labels[$0])) }
        return (subset(training), subset(validation), held.sorted().map { classNames[$0] })
    }
}
