import Foundation
import Images
import Tensors

/// The files of TensorBoard's Embedding Projector (projector.tensorflow.org, or TensorBoard's
/// projector tab): vectors as TSV, a metadata TSV with a header (path, class), a sprite image of
/// thumbnails in row-major order, and projector_config.pbtxt tying them together.
public enum ProjectorExport {
    /// The projector loads sprites of at most 8192 × 8192 pixels.
    public static let maximumSpriteSide = 8192

    /// Writes the four files into `directory`, each through a temporary file and a rename.
    /// `thumbnails[i]` is image i's picture (gray or RGB, any size: drawn at `cell` × `cell`).
    public static func write(vectors: Tensor, paths: [String], classes: [String], thumbnails: [Image], cell requested: Int,
                             to directory: String) throws {
        let n = vectors.shape[0], d = vectors.shape[1]
        precondition(paths.count == n && classes.count == n && thumbnails.count == n)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func file(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

        var tensors = ""
        tensors.reserveCapacity(n * d * 11)
        for i in 0..<n {
            tensors += (0..<d).map { String(vectors.pointer[i * d + $0]) }.joined(separator: "\t")
            tensors += "\n"
        }
        try AtomicFile.write(Data(tensors.utf8), to: file("tensors.tsv"), durable: false)

        // A tab or line break inside a field would shift the columns.
        func field(_ text: String) -> String { text.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ") }
        let metadata = "path\tclass\n" + zip(paths, classes).map { field($0) + "\t" + field($1) + "\n" }.joined()
        try AtomicFile.write(Data(metadata.utf8), to: file("metadata.tsv"), durable: false)

        let perSide = max(1, Int(Double(n).squareRoot().rounded(.up)))
        let cell = max(1, min(requested, maximumSpriteSide / perSide))
        try AtomicFile.write(try ImageEncoder.png(sprite(thumbnails, perSide: perSide, cell: cell)), to: file("sprite.png"), durable: false)

        let config = """
            embeddings {
              tensor_name: "akin"
              tensor_path: "tensors.tsv"
              metadata_path: "metadata.tsv"
              sprite {
                image_path: "sprite.png"
                single_image_dim: \(cell)
                single_image_dim: \(cell)
              }
            }

            """
        try AtomicFile.write(Data(config.utf8), to: file("projector_config.pbtxt"), durable: false)
    }

    /// Thumbnails in rows of `perSide`, each scaled to `cell` × `cell`; the sprite is square, as the projector expects.
    static func sprite(_ thumbnails: [Image], perSide: Int, cell: Int) -> Image {
        var canvas = Canvas(width: perSide * cell, height: perSide * cell)
        for (i, picture) in thumbnails.enumerated() {
            canvas.draw(picture, x: (i % perSide) * cell, y: (i / perSide) * cell, size: cell)
        }
        return canvas.image
    }
}
