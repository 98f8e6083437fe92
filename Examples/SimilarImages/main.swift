// Trains on a folder of <class>/<image>, embeds and indexes it, and prints each query's most similar images.
// Usage: SimilarImages FOLDER QUERY_IMAGE...
import Akin
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
guard let folder = arguments.first else { print("usage: SimilarImages FOLDER QUERY_IMAGE..."); exit(2) }

// 1. Train briefly with the default recipe: a small ResNet, P×K batches, batch-all triplets.
var run = TrainingRun(dataFolder: folder)
run.steps = 60
let model = try run.prepare().makeTrainer().run()

// 2. Embed every image of the folder into a new gallery (labels from folder names), and index it.
let path = NSTemporaryDirectory() + "similar-images-\(getpid()).akin"
defer { for file in [path, path + ".index"] { try? FileManager.default.removeItem(atPath: file) } }
let gallery = try Gallery.create(at: path, for: model)
try gallery.add(try model.embed(files: [folder]), by: model)
try gallery.buildIndex(IndexSettings(kind: .hnsw))

// 3. Search: each query's five most similar images, best first.
for query in arguments.dropFirst() {
    let image = try ImageDecoder.decodeFile(query, channels: model.preprocessing.channels)
    let result = try gallery.search(try model.embed(image), k: 5)
    print(query)
    for hit in result.hits { print(String(format: "  %.4f  #%d  %@  %@", hit.similarity, hit.id, hit.label, hit.path)) }
}
