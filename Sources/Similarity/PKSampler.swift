import Tensors

/// Why a P×K batch cannot be drawn from these labels.
public enum PKSamplerError: Error, CustomStringConvertible, Equatable {
    case batchShape(classesPerBatch: Int, imagesPerClass: Int)
    case labelOutOfRange(image: Int, label: Int32, classCount: Int)
    case tooFewClasses(eligible: Int, classesPerBatch: Int)

    public var description: String {
        switch self {
        case let .batchShape(p, k):
            return "--classes-per-batch is \(p) and --images-per-class is \(k), but both must be at least 2: "
                + "every anchor needs another image of its class and an image of another class. Raise the one below 2."
        case let .labelOutOfRange(image, label, classCount):
            return "image \(image) has label \(label), outside the \(classCount) classes: the labels and the class list "
                + "disagree. Rebuild the image cache from the image folder."
        case let .tooFewClasses(eligible, p):
            return "--classes-per-batch is \(p), but only \(eligible) classes have at least 2 training images. "
                + "Lower --classes-per-batch to at most \(eligible), or add images so more classes have two or more."
        }
    }
}

/// Draws batches of P classes × K images for online triplet mining (Hermans et al. 2017): each
/// batch holds K images of each of P distinct classes, so every image has positives and
/// negatives inside it. Classes with a single image are never drawn: they could not give a positive.
public struct PKSampler: Sendable {
    public let classesPerBatch: Int
    public let imagesPerClass: Int
    /// The image indices of each class, by class index.
    public let membersOfClass: [[Int]]
    /// The classes with at least two images, the only ones a batch is drawn from.
    public let eligibleClasses: [Int]

    public var batchSize: Int { classesPerBatch * imagesPerClass }

    public init(labels: [Int32], classCount: Int, classesPerBatch: Int, imagesPerClass: Int) throws(PKSamplerError) {
        guard classesPerBatch >= 2, imagesPerClass >= 2 else {
            throw .batchShape(classesPerBatch: classesPerBatch, imagesPerClass: imagesPerClass)
        }
        var members = [[Int]](repeating: [], count: classCount)
        for (image, label) in labels.enumerated() {
            guard label >= 0, Int(label) < classCount else {
                throw .labelOutOfRange(image: image, label: label, classCount: classCount)
            }
            members[Int(label)].append(image)
        }
        let eligible = members.indices.filter { members[$0].count >= 2 }
        guard eligible.count >= classesPerBatch else {
            throw .tooFewClasses(eligible: eligible.count, classesPerBatch: classesPerBatch)
        }
        self.classesPerBatch = classesPerBatch
        self.imagesPerClass = imagesPerClass
        membersOfClass = members
        eligibleClasses = eligible
    }

    /// Overwrites `indices` with P·K image indices, class-major: K images of the first class, then
    /// K of the second, and so on. A class with at least K images gives K different ones; a smaller
    /// class gives each of its images ⌊K/m⌋ times and ⌈K/m⌉ times for K mod m of them, so no image
    /// repeats more than it must.
    public func sample(using generator: inout RandomGenerator, into indices: inout [Int]) {
        let p = classesPerBatch, k = imagesPerClass
        indices.removeAll(keepingCapacity: true)
        indices.append(contentsOf: repeatElement(0, count: p * k))
        var chosen = [Int](repeating: 0, count: p)
        Self.chooseDistinct(p, below: eligibleClasses.count, into: &chosen, at: 0, using: &generator)
        for (slot, position) in chosen.enumerated() {
            let members = membersOfClass[eligibleClasses[position]]
            let start = slot * k
            // Positions within the class first, then the image indices they stand for.
            if members.count >= k {
                Self.chooseDistinct(k, below: members.count, into: &indices, at: start, using: &generator)
            } else {
                let copies = k / members.count
                for i in 0..<(copies * members.count) { indices[start + i] = i % members.count }
                Self.chooseDistinct(k - copies * members.count, below: members.count, into: &indices,
                                    at: start + copies * members.count, using: &generator)
            }
            for i in start..<(start + k) { indices[i] = members[indices[i]] }
        }
    }

    /// Floyd's algorithm: writes a uniformly random set of `count` distinct integers below `bound`
    /// into values[start..<start + count], in exactly `count` draws and with no other buffer.
    private static func chooseDistinct(_ count: Int, below bound: Int, into values: inout [Int], at start: Int,
                                       using generator: inout RandomGenerator) {
        precondition(count <= bound, "cannot choose \(count) distinct values below \(bound)")
        for (n, j) in ((bound - count)..<bound).enumerated() {
            let t = generator.nextInt(below: j + 1)
            values[start + n] = values[start..<(start + n)].contains(t) ? j : t
        }
    }
}
