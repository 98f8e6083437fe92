import Akin
import ArgumentParser
import Foundation

struct ImportIDX: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-idx",
        abstract: "Convert IDX image and label files (MNIST, Fashion-MNIST; gzipped or not) into a class-folder tree of PNGs.")

    @Option(help: "IDX file of images (N × H × W unsigned bytes).") var images: String
    @Option(help: "IDX file of labels (N unsigned bytes).") var labels: String
    @Option(help: "Comma-separated class names, in label order (default: the label numbers). A '/' in a name becomes '-'.")
    var classNames: String?
    @Option(help: "Folder to write <class>/<index>.png into.") var out: String

    func run() throws {
        let pixels = try IDXArray.read(images), labelArray = try IDXArray.read(labels)
        guard pixels.dimensions.count == 3 else {
            throw ValidationError("\(images) has dimensions \(pixels.dimensions); an image file has three (count, height, width)")
        }
        guard labelArray.dimensions.count == 1 else {
            throw ValidationError("\(labels) has dimensions \(labelArray.dimensions); a label file has one (count)")
        }
        let count = pixels.dimensions[0], height = pixels.dimensions[1], width = pixels.dimensions[2]
        guard labelArray.dimensions[0] == count else {
            throw ValidationError("\(images) holds \(count) images but \(labels) holds \(labelArray.dimensions[0]) labels")
        }
        let largest = Int(labelArray.bytes.max() ?? 0)
        let names: [String]
        if let classNames {
            names = classNames.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "/", with: "-")
            }
            guard names.count > largest, !names.contains(where: \.isEmpty), Set(names).count == names.count else {
                throw ValidationError("--class-names gives \(names.count) names; the labels go up to \(largest), so \(largest + 1) distinct, non-empty names are needed")
            }
        } else {
            names = (0...largest).map(String.init)
        }
        for name in Set(labelArray.bytes.map { names[Int($0)] }) {
            try FileManager.default.createDirectory(atPath: out + "/" + name, withIntermediateDirectories: true)
        }
        let bar = ProgressBar("writing PNGs", total: count, unit: "images", plainInterval: 5)
        let failures = Counter(), written = Counter()
        let plane = height * width
        let digits = String(count - 1).count
        DispatchQueue.concurrentPerform(iterations: (count + 255) / 256) { chunk in
            for i in (chunk * 256)..<min(count, (chunk + 1) * 256) {
                let image = Image(width: width, height: height, channels: 1, pixels: Array(pixels.bytes[(i * plane)..<((i + 1) * plane)]))
                let name = String(i).zeroPadded(to: digits)
                do {
                    try AtomicFile.write(try ImageEncoder.png(image), to: "\(out)/\(names[Int(labelArray.bytes[i])])/\(name).png", durable: false)
                } catch {
                    if failures.add(1) <= 10 { Console.note("could not write image \(i): \(error)") }
                }
            }
            bar.update(written.add(min(count, (chunk + 1) * 256) - chunk * 256))
        }
        if failures.value > 0 { throw ValidationError("\(failures.value) of \(count) images could not be written to \(out)") }
        Console.note("wrote \(count) images of \(Set(labelArray.bytes).count) classes to \(out)")
    }
}
