import Foundation
import Images
import Tensors
import Testing

/// Random bytes in `lowest...255` for `count` images of size × size × channels.
func randomImageSet(count: Int, size: Int, channels: Int, seed: UInt64, lowest: UInt8 = 0) -> ImageSet {
    var generator = RandomGenerator(seed: seed)
    let span = 256 - Int(lowest)
    let pixels = (0..<(count * channels * size * size)).map { _ in lowest + UInt8(generator.nextInt(below: span)) }
    return ImageSet(imageSize: size, channels: channels, classNames: ["x"], paths: (0..<count).map { "\($0)" },
                    labels: [Int32](repeating: 0, count: count), pixels: pixels)
}

func randomPreprocessing(size: Int, channels: Int, seed: UInt64) -> Preprocessing {
    var generator = RandomGenerator(seed: seed)
    return Preprocessing(imageSize: size, channels: channels,
                         mean: (0..<channels).map { _ in 0.2 + 0.4 * generator.nextFloat() },
                         std: (0..<channels).map { _ in 0.2 + 0.3 * generator.nextFloat() })
}

extension ImageSet {
    func plainBatch(_ indices: [Int], _ preprocessing: Preprocessing) -> [Float] {
        var batch = [Float](repeating: .nan, count: indices.count * valuesPerImage)
        fill(&batch, indices: indices, preprocessing: preprocessing)
        return batch
    }

    func augmentedBatch(_ indices: [Int], _ preprocessing: Preprocessing, _ augmentation: Augmentation, seed: UInt64) -> [Float] {
        var batch = [Float](repeating: .nan, count: indices.count * valuesPerImage)
        fill(&batch, indices: indices, preprocessing: preprocessing, augmentation: augmentation, seed: seed)
        return batch
    }

    func drawnBatch(_ indices: [Int], _ preprocessing: Preprocessing, _ draws: [AugmentationDraw]) -> [Float] {
        var batch = [Float](repeating: .nan, count: indices.count * valuesPerImage)
        fill(&batch, indices: indices, preprocessing: preprocessing, draws: draws)
        return batch
    }

    func bytes(of index: Int) -> ArraySlice<UInt8> { pixels[(index * valuesPerImage)..<((index + 1) * valuesPerImage)] }
}

func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

let everything = Augmentation(cropPadding: 4, horizontalFlip: true, rotationDegrees: 25, scaleJitter: 0.2,
                              translateFraction: 0.1, brightness: 0.4, contrast: 0.5)

@Suite("Augmentation")
struct AugmentationTests {
    @Test func noneIsThePlainFillBitForBit() {
        for (size, channels) in [(28, 1), (37, 3)] {
            let images = randomImageSet(count: 12, size: size, channels: channels, seed: 1)
            let preprocessing = randomPreprocessing(size: size, channels: channels, seed: 2)
            let indices = [3, 0, 11, 3, 7]
            let plain = bits(images.plainBatch(indices, preprocessing))
            #expect(Augmentation.none.isIdentity && Augmentation.none.description == "none")
            #expect(bits(images.augmentedBatch(indices, preprocessing, .none, seed: 9)) == plain)
            let identity = [AugmentationDraw](repeating: .identity, count: indices.count)
            #expect(bits(images.drawnBatch(indices, preprocessing, identity)) == plain)
        }
        let empty = ImageSet(imageSize: 4, channels: 1, classNames: [], paths: [], labels: [], pixels: [])
        #expect(empty.augmentedBatch([], Preprocessing(imageSize: 4, channels: 1), everything, seed: 1).isEmpty)
    }

    @Test func theSeedAloneDecidesTheBatch() {
        let images = randomImageSet(count: 40, size: 28, channels: 3, seed: 3)
        let preprocessing = randomPreprocessing(size: 28, channels: 3, seed: 4)
        let indices = (0..<40).map { ($0 * 7) % 40 }
        let first = images.augmentedBatch(indices, preprocessing, everything, seed: 42)
        #expect(bits(images.augmentedBatch(indices, preprocessing, everything, seed: 42)) == bits(first))
        #expect(bits(images.augmentedBatch(indices, preprocessing, everything, seed: 43)) != bits(first))
        // Each position's draw comes from its own generator, whatever thread ran it.
        let draws = indices.indices.map { position in
            var generator = Augmentation.generator(seed: 42, position: position)
            return everything.draw(imageSize: 28, using: &generator)
        }
        #expect(Set(draws.map(\.rotationDegrees)).count == draws.count)
        #expect(bits(images.drawnBatch(indices, preprocessing, draws)) == bits(first))
    }

    @Test func aForcedFlipMirrorsEachRow() {
        for (size, channels) in [(28, 1), (37, 3)] {
            let images = randomImageSet(count: 3, size: size, channels: channels, seed: 5)
            let preprocessing = randomPreprocessing(size: size, channels: channels, seed: 6)
            let plain = images.plainBatch([0, 1, 2], preprocessing)
            let flipped = images.drawnBatch([0, 1, 2], preprocessing, [AugmentationDraw](repeating: AugmentationDraw(flip: true), count: 3))
            let mirrored = mirrorRows(plain, size: size)
            #expect(bits(flipped) == bits(mirrored))
        }
    }

    @Test func flippingHappensAboutHalfTheTime() {
        let images = randomImageSet(count: 1, size: 28, channels: 1, seed: 7)
        let preprocessing = Preprocessing(imageSize: 28, channels: 1)
        let indices = [Int](repeating: 0, count: 200)
        let batch = images.augmentedBatch(indices, preprocessing, Augmentation(horizontalFlip: true), seed: 8)
        let plain = images.plainBatch([0], preprocessing), mirrored = mirrorRows(plain, size: 28)
        var flips = 0
        for position in 0..<200 {
            let image = Array(batch[(position * 784)..<((position + 1) * 784)])
            #expect(image == plain || image == mirrored)
            if image == mirrored { flips += 1 }
        }
        #expect(flips > 60 && flips < 140)
    }

    @Test func cropPaddingShiftsByWholePixelsWithBlackEntering() {
        let (size, p) = (28, 3)
        // No zero bytes in the source, so a zero in the output can only be padding.
        let images = randomImageSet(count: 50, size: size, channels: 1, seed: 9, lowest: 1)
        let preprocessing = Preprocessing(imageSize: size, channels: 1)
        let indices = Array(0..<50) + Array(0..<50)
        let batch = images.augmentedBatch(indices, preprocessing, Augmentation(cropPadding: p), seed: 10)
        let plain = images.plainBatch(Array(0..<50), preprocessing)
        var shiftsSeen = Set<[Int]>()
        for (position, index) in indices.enumerated() {
            let output = Array(batch[(position * 784)..<((position + 1) * 784)])
            let input = Array(plain[(index * 784)..<((index + 1) * 784)])
            var matches: [[Int]] = []
            for dy in -p...p {
                for dx in -p...p {
                    let shifted = (0..<784).map { i -> Float in
                        let x = i % size + dx, y = i / size + dy
                        return x >= 0 && x < size && y >= 0 && y < size ? input[y * size + x] : 0
                    }
                    if shifted == output { matches.append([dx, dy]) }
                }
            }
            #expect(matches.count == 1)
            shiftsSeen.formUnion(matches)
        }
        #expect(shiftsSeen.count > 30)  // of the 49 possible
    }

    @Test func aNullAffineIsTheIdentityAndQuarterTurnsTurn() {
        let size = 37
        let images = randomImageSet(count: 2, size: size, channels: 3, seed: 11)
        let preprocessing = Preprocessing(imageSize: size, channels: 3)
        let plain = images.plainBatch([0, 1], preprocessing)
        // Not exactly zero, so the bilinear warp runs rather than the integer copy.
        let nearlyNothing = AugmentationDraw(rotationDegrees: 1e-6, translateX: 1e-6, translateY: -1e-6)
        #expect(nearlyNothing.hasAffine)
        #expect(maxDifference(images.drawnBatch([0, 1], preprocessing, [nearlyNothing, nearlyNothing]), plain) < 1e-5)

        // +90° turns the picture anticlockwise: output (x, y) shows input (S − 1 − y, x).
        let quarter = images.drawnBatch([0, 1], preprocessing, [AugmentationDraw(rotationDegrees: 90), AugmentationDraw(rotationDegrees: 90)])
        var turned = plain
        for image in 0..<6 {  // two images × three planes
            for y in 0..<size { for x in 0..<size { turned[image * size * size + y * size + x] = plain[image * size * size + x * size + size - 1 - y] } }
        }
        #expect(maxDifference(quarter, turned) < 1e-5)
    }

    @Test func fastPathMatchesTheReference() {
        let settings = [everything,
                        Augmentation(cropPadding: 2, rotationDegrees: 180, scaleJitter: 0.5, brightness: 1.5, contrast: 2),
                        Augmentation(horizontalFlip: true, translateFraction: 0.3, contrast: 0.9)]
        for (size, channels) in [(28, 1), (37, 1), (28, 3), (37, 3)] {
            let images = randomImageSet(count: 16, size: size, channels: channels, seed: UInt64(size * channels))
            let preprocessing = randomPreprocessing(size: size, channels: channels, seed: UInt64(size + channels))
            let indices = (0..<24).map { ($0 * 5) % 16 }
            for (n, augmentation) in settings.enumerated() {
                let seed = UInt64(100 + n)
                let batch = images.augmentedBatch(indices, preprocessing, augmentation, seed: seed)
                var expected: [Float] = []
                for (position, index) in indices.enumerated() {
                    var generator = Augmentation.generator(seed: seed, position: position)
                    let draw = augmentation.draw(imageSize: size, using: &generator)
                    expected += AugmentationReference.apply(images.bytes(of: index), size: size, channels: channels,
                                                            draw: draw, preprocessing: preprocessing)
                }
                let difference = maxDifference(batch, expected)
                #expect(difference < 1e-5, "\(augmentation) at \(size)×\(size)×\(channels): \(difference)")
            }
        }
    }

    @Test func outputStaysWithinTheStandardisedPixelRange() {
        let strong = Augmentation(cropPadding: 5, horizontalFlip: true, rotationDegrees: 45, scaleJitter: 0.4,
                                  translateFraction: 0.2, brightness: 2, contrast: 3)
        let images = randomImageSet(count: 20, size: 28, channels: 3, seed: 12)
        let preprocessing = randomPreprocessing(size: 28, channels: 3, seed: 13)
        let batch = images.augmentedBatch(Array(0..<20) + Array(0..<20), preprocessing, strong, seed: 14)
        var atBounds = 0
        for (i, value) in batch.enumerated() {
            let ch = (i / 784) % 3, m = preprocessing.mean[ch], s = preprocessing.std[ch]
            let low = (0 - m) / s, high = (1 - m) / s
            #expect(value >= low - 1e-5 && value <= high + 1e-5)
            if abs(value - low) < 1e-5 || abs(value - high) < 1e-5 { atBounds += 1 }
        }
        #expect(atBounds > batch.count / 10)  // the clamp was exercised
    }

    @Test func settingsValidateRoundTripAndDescribeThemselves() throws {
        #expect(throws: Never.self) { try everything.validate() }
        #expect(throws: Never.self) { try Augmentation.standard.validate() }
        let bad: [(Augmentation, String)] = [(Augmentation(cropPadding: -1), "cropPadding"), (Augmentation(rotationDegrees: 200), "rotationDegrees"),
                                             (Augmentation(scaleJitter: 1), "scaleJitter"), (Augmentation(translateFraction: -0.1), "translateFraction"),
                                             (Augmentation(brightness: .nan), "brightness"), (Augmentation(contrast: -1), "contrast")]
        for (augmentation, field) in bad {
            #expect { try augmentation.validate() } throws: { "\($0)".contains("augmentation \(field) is") }
        }
        let data = try JSONEncoder().encode(everything)
        #expect(try JSONDecoder().decode(Augmentation.self, from: data) == everything)
        #expect(try JSONDecoder().decode(Augmentation.self, from: Data(#"{"cropPadding": 2}"#.utf8)) == Augmentation(cropPadding: 2))
        #expect(everything.description == "crop ±4 px, flip, rotate ±25.0°, scale ±0.2, translate ±0.1·size, brightness ±0.4, contrast ±0.5")
        #expect(!Augmentation.standard.isIdentity && !Augmentation.standard.horizontalFlip)
    }

    @Test func drawsStayInTheirRanges() {
        for position in 0..<500 {
            var generator = Augmentation.generator(seed: 15, position: position)
            let draw = everything.draw(imageSize: 40, using: &generator)
            #expect(abs(draw.shiftX) <= 4 && abs(draw.shiftY) <= 4)
            #expect(abs(draw.rotationDegrees) <= 25 && abs(draw.scale - 1) <= 0.2)
            #expect(abs(draw.translateX) <= 4 && abs(draw.translateY) <= 4)
            #expect(abs(draw.brightness - 1) <= 0.4 && abs(draw.contrast - 1) <= 0.5)
        }
        var generator = Augmentation.generator(seed: 15, position: 0)
        #expect(Augmentation.none.draw(imageSize: 40, using: &generator) == .identity)
    }
}

/// Reverses every row of every plane (size × size planes back to back).
func mirrorRows(_ values: [Float], size: Int) -> [Float] {
    var out = values
    for plane in 0..<(values.count / (size * size)) {
        for y in 0..<size { for x in 0..<size { out[plane * size * size + y * size + x] = values[plane * size * size + y * size + size - 1 - x] } }
    }
    return out
}
