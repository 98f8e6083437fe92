import Similarity
import Tensors
import Testing

@Suite("P×K sampler")
struct PKSamplerTests {
    // Class 0: 9 images, 1: 3, 2: 1 (never drawn), 3: 5, 4: 2, 5: none.
    let labels: [Int32] = [0, 1, 0, 3, 2, 0, 1, 0, 3, 4, 0, 0, 3, 1, 0, 4, 3, 0, 3, 0]
    let classCount = 6

    @Test func drawsPDistinctClassesOfKImagesEachClassMajor() throws {
        let sampler = try PKSampler(labels: labels, classCount: classCount, classesPerBatch: 3, imagesPerClass: 4)
        #expect(sampler.eligibleClasses == [0, 1, 3, 4])
        #expect(sampler.batchSize == 12)
        var generator = RandomGenerator(seed: 11)
        var indices: [Int] = []
        var seenClasses = Set<Int32>()
        for _ in 0..<300 {
            sampler.sample(using: &generator, into: &indices)
            #expect(indices.count == 12)
            var batchClasses: [Int32] = []
            for slot in 0..<3 {
                let block = Array(indices[(slot * 4)..<(slot * 4 + 4)])
                let blockLabels = Set(block.map { labels[$0] })
                #expect(blockLabels.count == 1, "a class block mixes classes: \(block)")
                let label = labels[block[0]]
                batchClasses.append(label)
                let members = labels.indices.filter { labels[$0] == label }
                let counts = Dictionary(block.map { ($0, 1) }, uniquingKeysWith: +)
                if members.count >= 4 {
                    #expect(counts.values.allSatisfy { $0 == 1 }, "class \(label) has enough images but repeats one: \(block)")
                } else {
                    // Each image ⌊K/m⌋ or ⌈K/m⌉ times: every image used, none more than needed.
                    let low = 4 / members.count, high = (4 + members.count - 1) / members.count
                    #expect(Set(counts.keys) == Set(members), "class \(label) leaves an image out: \(block)")
                    #expect(counts.values.allSatisfy { $0 == low || $0 == high }, "class \(label) repeats unevenly: \(block)")
                }
            }
            #expect(Set(batchClasses).count == 3, "classes repeat in a batch: \(batchClasses)")
            #expect(!batchClasses.contains(2) && !batchClasses.contains(5))
            seenClasses.formUnion(batchClasses)
        }
        #expect(seenClasses == [0, 1, 3, 4])
    }

    @Test func samplesEveryImageOfALargeClass() throws {
        let sampler = try PKSampler(labels: labels, classCount: classCount, classesPerBatch: 4, imagesPerClass: 2)
        var generator = RandomGenerator(seed: 2)
        var indices: [Int] = []
        var seen = Set<Int>()
        for _ in 0..<200 {
            sampler.sample(using: &generator, into: &indices)
            seen.formUnion(indices)
        }
        #expect(seen == Set(labels.indices.filter { labels[$0] != 2 }))
    }

    @Test func isDeterministicGivenTheGenerator() throws {
        let sampler = try PKSampler(labels: labels, classCount: classCount, classesPerBatch: 2, imagesPerClass: 3)
        func draws(seed: UInt64) -> [[Int]] {
            var generator = RandomGenerator(seed: seed)
            var indices: [Int] = []
            return (0..<20).map { _ in sampler.sample(using: &generator, into: &indices); return indices }
        }
        #expect(draws(seed: 9) == draws(seed: 9))
        #expect(draws(seed: 9) != draws(seed: 10))
    }

    @Test func refusesBatchesItCannotFill() {
        #expect(throws: PKSamplerError.tooFewClasses(eligible: 4, classesPerBatch: 5)) {
            try PKSampler(labels: labels, classCount: classCount, classesPerBatch: 5, imagesPerClass: 4)
        }
        let message = PKSamplerError.tooFewClasses(eligible: 4, classesPerBatch: 5).description
        #expect(message.contains("--classes-per-batch") && message.contains("at most 4"))
        #expect(throws: PKSamplerError.batchShape(classesPerBatch: 3, imagesPerClass: 1)) {
            try PKSampler(labels: labels, classCount: classCount, classesPerBatch: 3, imagesPerClass: 1)
        }
        #expect(throws: PKSamplerError.labelOutOfRange(image: 1, label: 7, classCount: 6)) {
            try PKSampler(labels: [0, 7], classCount: 6, classesPerBatch: 2, imagesPerClass: 2)
        }
    }
}
