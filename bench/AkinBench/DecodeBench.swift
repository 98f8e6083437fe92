import Foundation
import Images

/// `akin-bench decode --folder DIR --size S`: every JPEG of DIR decoded and fitted to S × S as
/// embedding does it, once decoding the whole image and once at libjpeg-turbo's smallest scale
/// that keeps S (what `ImageSet.load` does), on one thread so the ratio is the decoder's alone.
enum DecodeBench {
    static func run(folder: String, size: Int, repeats: Int) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.lowercased().hasSuffix(".jpg") }.sorted()
            .map { folder + "/" + $0 }
        let fitting = Preprocessing(imageSize: size, channels: 3)
        let contents = try files.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        func time(_ minimumSide: Int?) throws -> (seconds: Double, images: [Image]) {
            var best = Double.infinity, out: [Image] = []
            for _ in 0..<repeats {
                let start = Date()
                out = try contents.map { fitting.fitted(try ImageDecoder.decode($0, channels: 3, minimumSide: minimumSide)) }
                best = min(best, Date().timeIntervalSince(start))
            }
            return (best, out)
        }
        let full = try time(nil), scaled = try time(fitting.decodedSide)
        let probe = try ImageDecoder.decode(contents[0], channels: 3)
        var difference = 0.0
        for (a, b) in zip(full.images, scaled.images) {
            var sum = 0.0
            for (x, y) in zip(a.pixels, b.pixels) { sum += abs(Double(x) - Double(y)) }
            difference += sum / Double(a.pixels.count) / Double(files.count)
        }
        let result: [String: Any] = [
            "bench": "decode", "images": files.count, "width": probe.width, "height": probe.height, "size": size,
            "full_images_per_s": Double(files.count) / full.seconds, "scaled_images_per_s": Double(files.count) / scaled.seconds,
            "speedup": full.seconds / scaled.seconds, "mean_abs_pixel_difference": difference,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
    }
}
