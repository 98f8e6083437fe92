import Foundation
import Images
import Search
import TestSupport
import Testing

@Suite("akin export projector")
struct ProjectorTests {
    @Test func writesTheProjectorFiles() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDataset(at: root + "/data", perClass: 5)
        let train = try CLI.run(["train", root + "/data", "--out", root + "/m.safetensors"] + smallTraining)
        #expect(train.status == 0, "\(train.errors)")
        let export = try CLI.run(["export", "projector", "--model", root + "/m.safetensors", "--data", root + "/data", "--out", root + "/p"])
        #expect(export.status == 0, "\(export.errors)")
        let embed = try CLI.run(["embed", "--model", root + "/m.safetensors", "--out", root + "/g.akin", root + "/data"])
        #expect(embed.status == 0, "\(embed.errors)")
        let store = try SQLiteGalleryStore.open(root + "/g.akin", readOnly: true)
        let (ids, vectors, _) = try store.allVectors()
        let items = try store.items(ids: ids)
        let paths = ids.map { items[$0]!.path }, labels = ids.map { items[$0]!.label }, dimension = vectors.shape[1]

        // tensors.tsv: the same vectors `akin embed` stores, in the same order as metadata.tsv.
        let rows = try String(contentsOfFile: root + "/p/tensors.tsv", encoding: .utf8).split(separator: "\n")
        let metadata = try String(contentsOfFile: root + "/p/metadata.tsv", encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 15 && metadata.count == 16 && metadata[0] == "path\tclass")
        for (i, row) in rows.enumerated() {
            let values = row.split(separator: "\t").map { Float(String($0))! }
            let fields = metadata[i + 1].split(separator: "\t").map(String.init)
            let g = try #require(paths.firstIndex(of: fields[0]))
            #expect(fields[1] == labels[g])
            // Within float rounding, not bit for bit: the gallery scales every vector to unit length again, and
            // an image's place in its batch can change the kernels' summation order.
            let stored = Array(vectors.buffer[(g * dimension)..<((g + 1) * dimension)])
            #expect(values.count == dimension && zip(values, stored).allSatisfy { abs($0 - $1) <= 1e-6 }, "\(values) against \(stored)")
        }
        // 15 images: a 4 × 4 sprite of 12-pixel thumbnails (the images as the model saw them).
        let sprite = try ImageDecoder.decodeFile(root + "/p/sprite.png", channels: 1)
        #expect(sprite.width == 4 * 12 && sprite.height == 4 * 12)
        let config = try String(contentsOfFile: root + "/p/projector_config.pbtxt", encoding: .utf8)
        #expect(config.contains("single_image_dim: 12") && config.contains("tensor_path: \"tensors.tsv\""))

        // TensorBoard's own ProjectorConfig message parses the config, when TensorBoard is here.
        guard let python = TensorBoardPython.path else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", """
            import sys
            from google.protobuf import text_format
            from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig
            c = text_format.Parse(open(sys.argv[1]).read(), ProjectorConfig())
            e = c.embeddings[0]
            print(e.tensor_path, e.metadata_path, e.sprite.image_path, *e.sprite.single_image_dim)
            """, root + "/p/projector_config.pbtxt"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(printed == "tensors.tsv metadata.tsv sprite.png 12 12\n")
    }
}
