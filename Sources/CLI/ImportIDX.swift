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
        let bar = ProgressBar("writing PNGs", total: 1, unit: "images", plainInterval: 5)
        let names = classNames.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let written = try IDXClassFolders.write(images: images, labels: labels, classNames: names, to: out,
                                                progress: { done, total in bar.update(done, total: total) },
                                                failed: { i, error in Console.note("could not write image \(i): \(error)") })
        Console.note("wrote \(written.images) images of \(written.classes) classes to \(out)")
    }
}
