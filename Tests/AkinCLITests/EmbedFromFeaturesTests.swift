import Foundation
import Search
import TestSupport
import Testing

@Suite("akin train --embed-from features")
struct EmbedFromFeaturesTests {
    @Test func galleriesHoldThePooledFeatures() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDataset(at: root + "/data", perClass: 5)
        let model = root + "/m.safetensors"
        let train = try CLI.run(["train", root + "/data", "--out", model, "--widths", "8,16", "--blocks", "1,1", "--embed-from", "features"] + smallTraining)
        #expect(train.status == 0, "\(train.errors)")
        #expect(train.errors.contains("embeds the 16-d pooled features"), "\(train.errors)")
        let embed = try CLI.run(["embed", "--model", model, "--out", root + "/g.akin", root + "/data"])
        #expect(embed.status == 0, "\(embed.errors)")
        let (ids, vectors, _) = try SQLiteGalleryStore.open(root + "/g.akin", readOnly: true).allVectors()
        #expect(ids.count == 15 && vectors.shape == [15, 16])
        let eval = try CLI.run(["eval", "--model", model, root + "/data"])
        #expect(eval.status == 0, "\(eval.errors)")

        let seed = try CLI.run(["train", root + "/data", "--out", root + "/s.safetensors", "--recipe", "seed", "--embed-from", "features"] + smallTraining)
        #expect(seed.status != 0 && seed.errors.contains("--backbone resnet"), "\(seed.errors)")
    }
}
