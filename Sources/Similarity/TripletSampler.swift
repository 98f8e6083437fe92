import Tensors

/// The seed's sampling: for each triplet pick two different classes at random; anchor and a
/// different positive from the first, negative from the second.
public struct RandomTripletSampler: Sendable {
    public let membersOfClass: [[Int]]

    public init(labels: [Int32], classCount: Int) {
        var members = [[Int]](repeating: [], count: classCount)
        for (index, label) in labels.enumerated() { members[Int(label)].append(index) }
        precondition(members.filter { $0.count >= 2 }.count >= 2, "need two classes with two images each")
        membersOfClass = members
    }

    /// 3·batch image indices: the anchors, then the positives, then the negatives.
    public func sample(batch: Int, using generator: inout RandomGenerator, into indices: inout [Int]) {
        indices.removeAll(keepingCapacity: true)
        indices.append(contentsOf: repeatElement(0, count: 3 * batch))
        let classes = membersOfClass.count
        for i in 0..<batch {
            var positiveClass: Int
            repeat { positiveClass = generator.nextInt(below: classes) } while membersOfClass[positiveClass].count < 2
            var negativeClass: Int
            repeat { negativeClass = generator.nextInt(below: classes) } while negativeClass == positiveClass || membersOfClass[negativeClass].isEmpty
            let members = membersOfClass[positiveClass]
            let anchor = generator.nextInt(below: members.count)
            var positive = generator.nextInt(below: members.count - 1)
            if positive >= anchor { positive += 1 }
            let negatives = membersOfClass[negativeClass]
            indices[i] = members[anchor]
            indices[batch + i] = members[positive]
            indices[2 * batch + i] = negatives[generator.nextInt(below: negatives.count)]
        }
    }
}
