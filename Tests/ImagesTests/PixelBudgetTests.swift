import CZlib
import Foundation
@testable import Images
import Tensors
import Testing

/// Limits before allocation: a header's claimed size is checked before any buffer exists, and large
/// JPEGs decode only as large as the network needs.
@Suite("Pixel budget and scaled decoding")
struct PixelBudgetTests {
    func gradient(_ width: Int, _ height: Int, channels: Int = 3) -> Image {
        var pixels: [UInt8] = []
        for y in 0..<height { for x in 0..<width { for c in 0..<channels { pixels.append(UInt8((x * 3 + y * 5 + c * 40) % 256)) } } }
        return Image(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// A real JPEG whose frame header (SOF0) is rewritten to claim 65000 × 65000.
    func jpegClaiming(_ side: UInt16) throws -> Data {
        var bytes = [UInt8](try ImageEncoder.jpeg(gradient(16, 16)))
        let sof = try #require((0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        // FF C0, length (2), precision (1), then height and width, big-endian.
        bytes[sof + 5] = UInt8(side >> 8); bytes[sof + 6] = UInt8(side & 0xFF)
        bytes[sof + 7] = UInt8(side >> 8); bytes[sof + 8] = UInt8(side & 0xFF)
        return Data(bytes)
    }

    /// A real PNG whose IHDR is rewritten to claim `side` × `side`, its CRC recomputed so libpng reads on.
    func pngClaiming(_ side: UInt32) throws -> Data {
        var bytes = [UInt8](try ImageEncoder.png(gradient(16, 16)))
        // Signature (8), IHDR length (4), "IHDR" (4), then width and height, then the rest, then the CRC.
        for (offset, value) in [(16, side), (20, side)] {
            for k in 0..<4 { bytes[offset + k] = UInt8((value >> (24 - 8 * UInt32(k))) & 0xFF) }
        }
        let crc = UInt32(Array(bytes[12..<29]).withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) })
        for k in 0..<4 { bytes[29 + k] = UInt8((crc >> (24 - 8 * UInt32(k))) & 0xFF) }
        return Data(bytes)
    }

    @Test func headersClaimingGigapixelsAreRefusedBeforeAllocating() throws {
        for data in [try jpegClaiming(65000), try pngClaiming(65000)] {
            #expect(throws: ImageError.tooManyPixels(width: 65000, height: 65000, limit: ImageDecoder.defaultMaxPixels)) {
                try ImageDecoder.decode(data, channels: 3)
            }
        }
        // Under the limit the same rewriting is merely a broken file.
        #expect { try ImageDecoder.decode(try pngClaiming(300), channels: 3) } throws: { !("\($0)".contains("limit")) }
    }

    @Test func largeJPEGsDecodeOnlyAsLargeAsNeeded() throws {
        let photo = try ImageEncoder.jpeg(gradient(1000, 800), quality: 95)
        #expect(try ImageDecoder.decode(photo, channels: 3).width == 1000)
        let eighth = try ImageDecoder.decode(photo, channels: 3, minimumSide: 100)
        #expect(eighth.width == 125 && eighth.height == 100)
        let quarter = try ImageDecoder.decode(photo, channels: 3, minimumSide: 101)
        #expect(quarter.width == 250 && quarter.height == 200)
        #expect(try ImageDecoder.decode(photo, channels: 1, minimumSide: 900).width == 1000, "no factor below 1 keeps 900")
        #expect(JPEG.scaled(1000, 800, keepingAtLeast: 224) == (375, 300), "3/8 is one of the scales")

        // What the network sees barely changes: the 1/4-scale decode resized to 224 against the full one.
        let fitting = Preprocessing(imageSize: 224, channels: 3)
        let full = fitting.fitted(try ImageDecoder.decode(photo, channels: 3))
        let scaled = fitting.fitted(try ImageDecoder.decode(photo, channels: 3, minimumSide: fitting.decodedSide))
        let meanDifference = zip(full.pixels, scaled.pixels).map { abs(Double($0) - Double($1)) }.reduce(0, +) / Double(full.pixels.count)
        #expect(meanDifference < 2, "mean absolute difference \(meanDifference) of 255")
        #expect(Preprocessing(imageSize: 224, channels: 3, centerCrop: 0.875).decodedSide == 256)
    }

    /// Between Pillow's warning size and the budget an image decodes, with a warning that says the
    /// size and what it costs; below, and past the budget (refused anyway), nothing is said.
    @Test func imagesPastPillowsWarningSizeAreNoted() throws {
        #expect(ImageDecoder.declaredSize(try jpegClaiming(300))! == (300, 300))
        #expect(ImageDecoder.declaredSize(try pngClaiming(70000))! == (70000, 70000))
        #expect(ImageDecoder.declaredSize(Data([0x89, 0x50, 0x4E])) == nil)
        #expect(ImageDecoder.largeImageWarning(try ImageEncoder.png(gradient(16, 16))) == nil)
        let tenThousand = try #require(ImageDecoder.largeImageWarning(try pngClaiming(10000)))
        #expect(tenThousand.contains("10000×10000 = 100000000 pixels") && tenThousand.contains("--max-pixels"), "\(tenThousand)")
        #expect(ImageDecoder.largeImageWarning(try jpegClaiming(10000)) != nil)
        #expect(ImageDecoder.largeImageWarning(try pngClaiming(14000)) == nil, "past the default budget: refused, not warned")
        #expect(ImageDecoder.largeImageWarning(try pngClaiming(10000), maxPixels: 1_000_000) == nil)
    }
}
