import Foundation
import Images
import Tensors

/// A small class-folder tree of real PNG files: three classes told apart by where a bright bar is.
public func makeDataset(at root: String, perClass: Int = 10, seed: UInt64 = 1) throws {
    var generator = RandomGenerator(seed: seed)
    for (label, name) in ["bar", "column", "diagonal"].enumerated() {
        try FileManager.default.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
        for i in 0..<perClass {
            var pixels: [UInt8] = []
            for y in 0..<12 { for x in 0..<12 {
                let on = label == 0 ? (y >= 2 && y < 5) : label == 1 ? (x >= 7 && x < 10) : (abs(x - y) < 2)
                pixels.append(UInt8((on ? 180 : 30) + generator.nextInt(below: 60)))
            } }
            let png = try ImageEncoder.png(Image(width: 12, height: 12, channels: 1, pixels: pixels))
            try png.write(to: URL(fileURLWithPath: "\(root)/\(name)/\(i).png"))
        }
    }
}

public func temporaryFolder() throws -> String {
    let path = NSTemporaryDirectory() + "akin-cli-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
