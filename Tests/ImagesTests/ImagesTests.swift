import TestSupport
import Foundation
import Images
import Testing

/// A fresh folder under the temporary directory, removed by the caller.
func temporaryFolder() throws -> String {
    let path = NSTemporaryDirectory() + "akin-test-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func gradient(width: Int, height: Int, channels: Int) -> Image {
    var pixels: [UInt8] = []
    for y in 0..<height { for x in 0..<width { for c in 0..<channels { pixels.append(UInt8((x * 17 + y * 5 + c * 60) % 256)) } } }
    return Image(width: width, height: height, channels: channels, pixels: pixels)
}

@Suite("Decoding, encoding and resizing")
struct ImageCodecTests {
    @Test func pngRoundTripsGrayAndRGB() throws {
        for channels in [1, 3] {
            let image = gradient(width: 9, height: 5, channels: channels)
            #expect(try ImageDecoder.decode(ImageEncoder.png(image), channels: channels) == image)
        }
    }

    @Test func grayAndColourConvertBothWays() throws {
        let rgb = try ImageDecoder.decode(ImageEncoder.png(Image(width: 1, height: 1, channels: 3, pixels: [200, 200, 200])), channels: 1)
        #expect(rgb.channels == 1 && rgb.pixels == [200])
        let gray = try ImageDecoder.decode(ImageEncoder.png(Image(width: 2, height: 1, channels: 1, pixels: [10, 250])), channels: 3)
        #expect(gray.pixels == [10, 10, 10, 250, 250, 250])
    }

    @Test func pngColourTypesAkinDoesNotWrite() throws {
        let palette = try ImageDecoder.decodeFile(Fixture.url("palette.png").path, channels: 3)
        #expect(palette.width == 4 && palette.height == 2)
        #expect(Array(palette.pixels[0..<3]) == [255, 0, 0] && Array(palette.pixels[9..<12]) == [0, 0, 255])
        let gray16 = try ImageDecoder.decodeFile(Fixture.url("gray16.png").path, channels: 1)
        #expect(gray16.pixels[0] == 0 && gray16.pixels[2] == 255 && abs(Int(gray16.pixels[1]) - 128) <= 1)
        let rgb16 = try ImageDecoder.decodeFile(Fixture.url("rgb16.png").path, channels: 3)
        #expect(rgb16.pixels == [0, 255, 0, 255, 255, 255])
        let alpha = try ImageDecoder.decodeFile(Fixture.url("gray_alpha.png").path, channels: 1)
        #expect(alpha.pixels == [0, 255])  // transparent composited onto white
        let alpha16 = try ImageDecoder.decodeFile(Fixture.url("gray_alpha16.png").path, channels: 1)
        #expect(abs(Int(alpha16.pixels[0]) - 128) <= 1 && alpha16.pixels[1] == 255)
    }

    @Test func jpegDecodesCloseToTheOriginal() throws {
        var smooth: [UInt8] = []
        for y in 0..<16 { for x in 0..<16 { for c in 0..<3 { smooth.append(UInt8(x * 8 + y * 4 + c * 20)) } } }
        let image = Image(width: 16, height: 16, channels: 3, pixels: smooth)
        let decoded = try ImageDecoder.decode(ImageEncoder.jpeg(image, quality: 95), channels: 3)
        #expect(decoded.width == 16 && decoded.height == 16)
        let meanError = zip(decoded.pixels, image.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +) / image.pixels.count
        #expect(meanError < 4)
    }

    @Test func badInputsAreNamedErrors() throws {
        let jpeg = try ImageEncoder.jpeg(gradient(width: 32, height: 32, channels: 3))
        #expect(throws: ImageError.self) { try ImageDecoder.decode(jpeg.prefix(jpeg.count / 2), channels: 3) }
        #expect(throws: ImageError.empty) { try ImageDecoder.decode(Data(), channels: 1) }
        #expect(throws: ImageError.unknownFormat(firstBytes: "68 65 6c 6c")) { try ImageDecoder.decode(Data("hello".utf8), channels: 1) }
        let png = try ImageEncoder.png(gradient(width: 32, height: 32, channels: 1))
        #expect(throws: ImageError.self) { try ImageDecoder.decode(png.prefix(60), channels: 1) }
    }

    @Test func resizeKeepsIdentityAndAntialiases() {
        let image = gradient(width: 7, height: 5, channels: 3)
        #expect(Resize.resize(image, width: 7, height: 5) == image)
        // A one-pixel checkerboard halved must come out flat gray, not keep one phase of it.
        var checker: [UInt8] = []
        for y in 0..<16 { for x in 0..<16 { checker.append((x + y) % 2 == 0 ? 255 : 0) } }
        let small = Resize.resize(Image(width: 16, height: 16, channels: 1, pixels: checker), width: 4, height: 4)
        #expect(small.pixels.allSatisfy { abs(Int($0) - 128) <= 12 })
        let flat = Resize.resize(Image(width: 10, height: 6, channels: 1, pixels: [UInt8](repeating: 77, count: 60)), width: 23, height: 3)
        #expect(flat.pixels.allSatisfy { $0 == 77 })
    }

    @Test func centerCropKeepsTheMiddleSquare() {
        let image = gradient(width: 5, height: 3, channels: 2)
        func pixel(_ i: Image, _ x: Int, _ y: Int, _ c: Int) -> UInt8 { i.pixels[(y * i.width + x) * i.channels + c] }
        let whole = image.centerSquare(keeping: 1)
        #expect(whole.width == 3 && whole.height == 3 && whole.channels == 2)
        for y in 0..<3 { for x in 0..<3 { for c in 0..<2 { #expect(pixel(whole, x, y, c) == pixel(image, x + 1, y, c)) } } }
        // A side of 1.5 pixels rounds to 2; the offsets round halves to even as torchvision's CenterCrop
        // does: 1.5 → 2 across, 0.5 → 0 down.
        let half = image.centerSquare(keeping: 0.5)
        #expect(half.width == 2 && half.height == 2)
        for y in 0..<2 { for x in 0..<2 { #expect(pixel(half, x, y, 1) == pixel(image, x + 2, y, 1)) } }
        #expect(image.centerSquare(keeping: 0.01).width == 1)
        for bad: Float in [0, -1, 2, .nan, .infinity] { #expect(image.centerSquare(keeping: bad) == image) }
        let empty = Image(width: 0, height: 0, channels: 3, pixels: [])
        #expect(empty.centerSquare(keeping: 0.5) == empty)
        let square = gradient(width: 4, height: 4, channels: 1)
        #expect(square.centerSquare(keeping: 1) == square)
        // Cropping then resizing is what the preprocessing does; without a crop the whole image is stretched.
        let fitted = Preprocessing(imageSize: 3, channels: 2, centerCrop: 1).fitted(image)
        #expect(fitted == whole)
        #expect(Preprocessing(imageSize: 3, channels: 2).fitted(image) == Resize.resize(image, width: 3, height: 3))
        #expect(!Preprocessing.isValidCenterCrop(0) && !Preprocessing.isValidCenterCrop(1.01) && Preprocessing.isValidCenterCrop(0.875))
    }
}

@Suite("Datasets")
struct DatasetTests {
    func makeTree(_ root: String, _ classes: [String: Int]) throws {
        for (name, count) in classes {
            try FileManager.default.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
            for i in 0..<count {
                try ImageEncoder.png(gradient(width: 6 + i, height: 6, channels: 1)).write(to: URL(fileURLWithPath: "\(root)/\(name)/\(i).png"))
            }
        }
    }

    @Test func shapeErrorsComeBeforeAnyWork() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect { try ClassFolders.scan(root) } throws: { "\($0)".contains("no class sub-folders") }
        try makeTree(root, ["a": 3])
        #expect { try ClassFolders.scan(root) } throws: { "\($0)".contains("at least 2") }
        try makeTree(root, ["b": 1])
        #expect { try ClassFolders.scan(root) } throws: { "\($0)".contains("class \"b\"") }
        try makeTree(root, ["b": 2])
        try FileManager.default.createDirectory(atPath: root + "/empty", withIntermediateDirectories: true)
        #expect { try ClassFolders.scan(root) } throws: { "\($0)".contains("class \"empty\"") }
        try FileManager.default.removeItem(atPath: root + "/empty")
        let folders = try ClassFolders.scan(root)
        #expect(folders.classNames == ["a", "b"] && folders.files.count == 5)
        #expect(throws: DatasetError.self) { try ClassFolders.scan(root + "/nope") }
    }

    @Test func badFilesAreSkippedAndReported() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeTree(root, ["a": 3, "b": 3])
        let jpeg = try ImageEncoder.jpeg(gradient(width: 40, height: 40, channels: 3))
        try jpeg.prefix(jpeg.count / 2).write(to: URL(fileURLWithPath: root + "/a/truncated.jpg"))
        try Data().write(to: URL(fileURLWithPath: root + "/a/empty.png"))
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: root + "/b/text.png"))
        let folders = try ClassFolders.scan(root)
        let (images, skipped) = ImageSet.load(folders.files, classNames: folders.classNames, imageSize: 8, channels: 1)
        #expect(images.count == 6)
        #expect(Set(skipped.map { ($0.path as NSString).lastPathComponent }) == ["truncated.jpg", "empty.png", "text.png"])
        #expect(skipped.allSatisfy { !$0.reason.isEmpty })
        #expect(images.labels == [0, 0, 0, 1, 1, 1])
    }

    @Test func cacheNormalisesWithStoredStatistics() throws {
        let images = ImageSet(imageSize: 1, channels: 1, classNames: ["x"], paths: ["a", "b"], labels: [0, 0], pixels: [0, 255])
        let stats = images.channelStatistics()
        #expect(abs(stats.mean[0] - 0.5) < 1e-6 && abs(stats.std[0] - 0.5) < 1e-6)
        var batch = [Float](repeating: 0, count: 2)
        images.fill(&batch, indices: [1, 0], preprocessing: Preprocessing(imageSize: 1, channels: 1, mean: stats.mean, std: stats.std))
        #expect(batch == [1, -1])
    }

    @Test func idxReadsPlainAndGzipped() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var bytes: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3]
        bytes += (0..<12).map(UInt8.init)
        try Data(bytes).write(to: URL(fileURLWithPath: root + "/images.idx"))
        let plain = try IDXArray.read(root + "/images.idx")
        #expect(plain.dimensions == [2, 2, 3] && plain.bytes == (0..<12).map(UInt8.init))
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-k", root + "/images.idx"]
        try gzip.run()
        gzip.waitUntilExit()
        #expect(try IDXArray.read(root + "/images.idx.gz").bytes == plain.bytes)
        try Data(bytes.dropLast()).write(to: URL(fileURLWithPath: root + "/short.idx"))
        #expect { try IDXArray.read(root + "/short.idx") } throws: { "\($0)".contains("promises 12 bytes") }
    }
}
