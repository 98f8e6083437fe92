import Foundation
import Images
import Tensors
import TestSupport
import Testing

// A flat learning rate: a cosine schedule depends on --steps, which the resume tests change.
let smallTraining = ["--steps", "4", "--image-size", "12", "--embedding-dim", "8", "--checkpoint-every", "2",
                     "--schedule", "constant"]

@Suite("The akin command", .serialized)
struct CLITests {
    @Test func trainEmbedSearchEvaluateWithBadFilesInTheData() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = root + "/data"
        try makeDataset(at: data)
        var rgb: [UInt8] = []
        for i in 0..<(40 * 40) { rgb += [UInt8(i % 256), 90, 200] }
        let jpeg = try ImageEncoder.jpeg(Image(width: 40, height: 40, channels: 3, pixels: rgb))
        try jpeg.prefix(jpeg.count / 2).write(to: URL(fileURLWithPath: data + "/bar/truncated.jpg"))
        try Data().write(to: URL(fileURLWithPath: data + "/column/empty.png"))
        try Data("just text".utf8).write(to: URL(fileURLWithPath: data + "/diagonal/notes.png"))

        let train = try CLI.run(["train", data, "--out", root + "/model.safetensors", "--log", root + "/log.csv"] + smallTraining)
        #expect(train.status == 0, "\(train.errors)")
        for name in ["truncated.jpg", "empty.png", "notes.png"] {
            #expect(train.errors.contains("skipped \(data)/") && train.errors.contains(name), "no report of \(name)")
        }
        #expect(train.errors.contains("skipped 3 of 33 files"))
        #expect(train.errors.contains("images/s"))
        let log = try String(contentsOfFile: root + "/log.csv", encoding: .utf8).split(separator: "\n")
        #expect(log.count == 5 && log[0].hasPrefix("step,loss,active_fraction"))

        let embed = try CLI.run(["embed", "--model", root + "/model.safetensors", "--out", root + "/gallery", data])
        #expect(embed.status == 0, "\(embed.errors)")
        #expect(embed.errors.contains("gallery of 30 vectors"))

        let query = data + "/column/3.png"
        let search = try CLI.run(["search", "--model", root + "/model.safetensors", "--gallery", root + "/gallery", "-k", "3", "--json", query])
        #expect(search.status == 0, "\(search.errors)")
        let answers = try JSONSerialization.jsonObject(with: Data(search.output.utf8)) as! [[String: Any]]
        #expect(answers.count == 1)
        #expect(answers[0]["query"] as? String == query && answers[0]["match"] as? Bool == true)
        let results = answers[0]["results"] as! [[String: Any]]
        #expect(results.count == 3)
        #expect(results[0]["path"] as? String == query)  // the image itself is in the gallery
        #expect(abs((results[0]["similarity"] as! Double) - 1) < 1e-4)
        #expect(results.allSatisfy { $0["label"] is String })

        let strict = try CLI.run(["search", "--model", root + "/model.safetensors", "--gallery", root + "/gallery", "--threshold", "1.5", "--json", query])
        let strictAnswers = try JSONSerialization.jsonObject(with: Data(strict.output.utf8)) as! [[String: Any]]
        #expect(strictAnswers[0]["match"] as? Bool == false)

        let eval = try CLI.run(["eval", "--model", root + "/model.safetensors", "--json", data])
        #expect(eval.status == 0, "\(eval.errors)")
        let report = try JSONSerialization.jsonObject(with: Data(eval.output.utf8)) as! [String: Any]
        #expect(report["queries"] as? Int == 30)
        for key in ["precision_at_1", "recall_at_10", "map_at_r"] {
            let value = report[key] as! Double
            #expect(value >= 0 && value <= 1)
        }
    }

    @Test func calibrateStoresTheThresholdSearchThenUses() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDataset(at: root + "/data")
        try makeDataset(at: root + "/validation", perClass: 6, seed: 2)
        let model = root + "/model.safetensors", gallery = root + "/gallery"
        #expect(try CLI.run(["train", root + "/data", "--out", model] + smallTraining).status == 0)
        #expect(try CLI.run(["embed", "--model", model, "--out", gallery, root + "/data"]).status == 0)

        let tooStrict = try CLI.run(["calibrate", "--model", model, "--data", root + "/validation", "--gallery", gallery, "--precision", "1.5"])
        #expect(tooStrict.status != 0 && tooStrict.errors.contains("--precision"))
        let dry = try CLI.run(["calibrate", "--model", model, "--data", root + "/validation", "--gallery", gallery, "--best-f1", "--dry-run"])
        #expect(dry.status == 0, "\(dry.errors)")
        #expect(dry.output.contains("threshold  answered  precision  recall") && dry.output.contains("← chosen"))
        #expect(dry.output.contains("18 validation images"))
        #expect(try CLI.run(["gallery", "stats", "--gallery", gallery]).output.contains("threshold: none"))

        let stored = try CLI.run(["calibrate", "--model", model, "--data", root + "/validation", "--gallery", gallery, "--best-f1"])
        #expect(stored.status == 0, "\(stored.errors)")
        let line = try #require(stored.output.split(separator: "\n").last { $0.hasPrefix("threshold ") })
        let threshold = try #require(Float(line.split(separator: " ")[1]))
        let stats = try CLI.run(["gallery", "stats", "--gallery", gallery]).output
        let kept = try #require(stats.split(separator: "\n").first { $0.hasPrefix("threshold: ") })
        let keptValue = try #require(Float(kept.dropFirst("threshold: ".count)))
        #expect(abs(keptValue - threshold) <= 0.00005, "\(stats)")
    }

    @Test func evaluationSplitsClassesSeenAndNotSeenInTraining() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = root + "/data", train = root + "/train"
        try makeDataset(at: data)
        for name in ["bar", "column"] {
            try FileManager.default.createDirectory(atPath: train, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: data + "/" + name, toPath: train + "/" + name)
        }
        let plain = root + "/plain", model = root + "/model"
        let trained = try CLI.run(["train", train, "--out", model] + smallTraining)
        #expect(trained.status == 0, "\(trained.errors)")
        // The model file records what it was trained on; a file from before that record has no key.
        var file = try SafeTensorsFile.read(from: model)
        #expect(file.metadata["akin.training_classes"] == #"["bar","column"]"#)
        file.metadata["akin.training_classes"] = nil
        try file.write(to: plain)

        func evaluate(_ arguments: [String]) throws -> [String: Any] {
            let r = try CLI.run(["eval", "--json"] + arguments)
            #expect(r.status == 0, "\(r.errors)")
            return try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as! [String: Any]
        }
        func classes(_ report: Any?) -> [String] { ((report as! [String: Any])["per_class"] as! [[String: Any]]).map { $0["class"] as! String } }
        func queries(_ report: Any?) -> Int { (report as! [String: Any])["queries"] as! Int }

        let split = try evaluate(["--model", model, data])
        #expect(queries(split["all"]) == 30 && queries(split["seen"]) == 20 && queries(split["unseen"]) == 10)
        #expect(classes(split["all"]) == ["bar", "column", "diagonal"])
        #expect(classes(split["seen"]) == ["bar", "column"] && classes(split["unseen"]) == ["diagonal"])
        let all = split["all"] as! [String: Any]
        for key in ["precision_at_1", "recall_at_10", "r_precision", "map_at_r", "nmi", "queries"] {
            #expect((split[key] as! NSNumber) == (all[key] as! NSNumber), "top-level \(key) is all's")
            for part in ["all", "seen", "unseen"] {
                let value = ((split[part] as! [String: Any])[key] as! NSNumber).doubleValue
                #expect(value >= 0 && (key == "queries" || value <= 1), "\(part).\(key) = \(value)")
            }
        }
        // One unseen class: its part searches among its own images only, so every neighbour is right.
        #expect(((split["unseen"] as! [String: Any])["precision_at_1"] as! Double) == 1)

        let unseenOnly = try evaluate(["--model", model, "--classes", "diagonal", data])
        #expect(unseenOnly["seen"] == nil && queries(unseenOnly["unseen"]) == 10 && queries(unseenOnly) == 10)
        let withoutRecord = try evaluate(["--model", plain, data])
        #expect(withoutRecord["seen"] == nil && withoutRecord["unseen"] == nil && queries(withoutRecord["all"]) == 30)
        let pixels = try evaluate(["--pixels", "--image-size", "12", "--classes", "column, diagonal", data])
        #expect(queries(pixels) == 20 && classes(pixels["all"]) == ["column", "diagonal"] && pixels["unseen"] == nil)
        let gallery = try evaluate(["--model", model, "--gallery-dir", data, "--classes", "bar", train])
        #expect(queries(gallery) == 10 && queries(gallery["seen"]) == 10 && gallery["unseen"] == nil)

        let text = try CLI.run(["eval", "--model", model, data])
        #expect(text.status == 0, "\(text.errors)")
        for line in ["all (3 classes)", "seen in training (2 classes)", "not seen in training (1 class)", "R-Prec", "NMI", "trained on"] {
            #expect(text.output.contains(line), "no \(line) in\n\(text.output)")
        }
        #expect(text.output.split(separator: "\n").contains { $0.hasPrefix("diagonal") && $0.hasSuffix("no") })

        let unknown = try CLI.run(["eval", "--model", model, "--classes", "bar,stripes", data])
        #expect(unknown.status != 0 && unknown.errors.contains("no class folder named \"stripes\"") && unknown.errors.contains("bar, column, diagonal"))
        let missingInQueries = try CLI.run(["eval", "--model", model, "--gallery-dir", data, "--classes", "diagonal", train])
        #expect(missingInQueries.status != 0 && missingInQueries.errors.contains(train))

        file.metadata["akin.training_classes"] = "bar,column"
        try file.write(to: model)
        let unreadable = try CLI.run(["eval", "--model", model, data])
        #expect(unreadable.status != 0 && unreadable.errors.contains("akin.training_classes"))
    }

    @Test func resumedRunLogsTheSameLossesAsAnUninterruptedOne() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDataset(at: root + "/data")
        let whole = try CLI.run(["train", root + "/data", "--out", root + "/a.safetensors", "--log", root + "/a.csv", "--seed", "3"] + smallTraining)
        #expect(whole.status == 0, "\(whole.errors)")
        try trainThroughAnInterruption(checkpoint: root + "/b.safetensors.checkpoint") { steps, extra in
            var options = smallTraining
            options[1] = steps
            let r = try CLI.run(["train", root + "/data", "--out", root + "/b.safetensors", "--log", root + "/b.csv", "--seed", "3"] + options + extra)
            #expect(r.status == 0, "\(r.errors)")
        }
        let a = try String(contentsOfFile: root + "/a.csv", encoding: .utf8)
        let b = try String(contentsOfFile: root + "/b.csv", encoding: .utf8)
        #expect(a == b)
        #expect(try Data(contentsOf: URL(fileURLWithPath: root + "/a.safetensors")) == Data(contentsOf: URL(fileURLWithPath: root + "/b.safetensors")))
    }

    @Test func killedRunIsKeptAndResumes() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDataset(at: root + "/data", perClass: 4)
        var options = smallTraining
        options[1] = "1000000"
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["train", root + "/data", "--out", root + "/m"] + options
        process.standardError = FileHandle.nullDevice
        try process.run()
        let checkpoint = root + "/m.checkpoint"
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: checkpoint) && Date() < deadline { usleep(20_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let step = try #require(Int(SafeTensorsFile.read(from: checkpoint).metadata["akin.checkpoint.step"] ?? ""))
        #expect(step > 0 && step % 2 == 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty || leftovers.allSatisfy { $0.hasPrefix(".m.checkpoint.tmp-") }, "only an unrenamed temporary may remain")

        let fresh = try CLI.run(["train", root + "/data", "--out", root + "/m"] + smallTraining)
        #expect(fresh.status != 0 && fresh.errors.contains("--resume"), "an unfinished run must not be overwritten silently")
        options[1] = String(step + 2)
        let resumed = try CLI.run(["train", root + "/data", "--out", root + "/m", "--resume"] + options)
        #expect(resumed.status == 0, "\(resumed.errors)")
        #expect(resumed.errors.contains("trained 2 steps"))
        #expect(FileManager.default.fileExists(atPath: root + "/m"))
    }

    @Test func galleryOfAnotherModelIsRefused() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDataset(at: root + "/data", perClass: 4)
        for seed in ["1", "2"] {
            let r = try CLI.run(["train", root + "/data", "--out", root + "/m\(seed)", "--seed", seed] + smallTraining)
            #expect(r.status == 0, "\(r.errors)")
        }
        #expect(try CLI.run(["embed", "--model", root + "/m1", "--out", root + "/g", root + "/data"]).status == 0)
        let wrong = try CLI.run(["search", "--model", root + "/m2", "--gallery", root + "/g", root + "/data/bar/0.png"])
        #expect(wrong.status != 0)
        #expect(wrong.errors.contains("not with this model"))
    }

    @Test func validationOnHeldOutClassesKeepsTheBestModel() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDataset(at: root + "/data")
        var options = smallTraining
        options[1] = "6"
        let r = try CLI.run(["train", root + "/data", "--out", root + "/m", "--log", root + "/log.csv", "--val-classes", "1",
                             "--val-every", "2", "--loss", "normalized-softmax"] + options)
        #expect(r.status == 0, "\(r.errors)")
        #expect(r.errors.contains("validation: 10 images of held-out classes"))
        #expect(r.errors.contains("step 2 validation: P@1") && r.errors.contains("step 6 validation: P@1"))
        #expect(r.errors.contains("(the best by validation MAP@R)"))
        let rows = try String(contentsOfFile: root + "/log.csv", encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 7 && rows[0].hasSuffix("val_precision_at_1,val_map_at_r"))
        #expect(!rows[2].hasSuffix(",,") && rows[1].hasSuffix(",,"), "validation figures only on the steps that ran it")
        // The model knows which two classes it saw, so eval reports the held-out one as unseen.
        let eval = try CLI.run(["eval", "--model", root + "/m", "--json", root + "/data"])
        let report = try JSONSerialization.jsonObject(with: Data(eval.output.utf8)) as! [String: Any]
        #expect((report["unseen"] as? [String: Any])?["queries"] as? Int == 10)
        let bad = try CLI.run(["train", root + "/data", "--out", root + "/n", "--val-classes", "2"] + smallTraining)
        #expect(bad.status != 0 && bad.errors.contains("--val-classes must leave at least two classes"))
        let noPatience = try CLI.run(["train", root + "/data", "--out", root + "/n", "--val-classes", "1", "--patience", "0"] + smallTraining)
        #expect(noPatience.status != 0 && noPatience.errors.contains("--patience"))
    }

    @Test func unusableDataIsRefusedBeforeAnyWork() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDataset(at: root + "/data", perClass: 3)
        try FileManager.default.removeItem(atPath: root + "/data/column")
        try FileManager.default.removeItem(atPath: root + "/data/diagonal")
        let one = try CLI.run(["train", root + "/data", "--out", root + "/m"] + smallTraining)
        #expect(one.status != 0 && one.errors.contains("training needs at least 2"))
        #expect(!FileManager.default.fileExists(atPath: root + "/m"))
        let missing = try CLI.run(["train", root + "/nowhere", "--out", root + "/m"])
        #expect(missing.status != 0 && missing.errors.contains("is not a folder"))
    }

    @Test func importIDXWritesAClassFolderTree() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var images: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2]
        images += [0, 50, 100, 150, 1, 2, 3, 4, 255, 255, 0, 0]
        try Data(images).write(to: URL(fileURLWithPath: root + "/images"))
        try Data([0, 0, 8, 1, 0, 0, 0, 3, 1, 0, 1]).write(to: URL(fileURLWithPath: root + "/labels"))
        let r = try CLI.run(["import-idx", "--images", root + "/images", "--labels", root + "/labels",
                             "--class-names", "T-shirt/top,Trouser", "--out", root + "/tree"])
        #expect(r.status == 0, "\(r.errors)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tree").sorted() == ["T-shirt-top", "Trouser"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tree/Trouser").sorted() == ["0.png", "2.png"])
        let first = try ImageDecoder.decodeFile(root + "/tree/Trouser/0.png", channels: 1)
        #expect(first.pixels == [0, 50, 100, 150])
        let bad = try CLI.run(["import-idx", "--images", root + "/images", "--labels", root + "/labels", "--class-names", "a", "--out", root + "/t2"])
        #expect(bad.status != 0 && bad.errors.contains("--class-names"))
        // A class name must never take a folder outside --out.
        let escape = try CLI.run(["import-idx", "--images", root + "/images", "--labels", root + "/labels", "--class-names", "..,x", "--out", root + "/t3"])
        #expect(escape.status == 65 && escape.errors.contains("\"..\"") && !escape.errors.contains("Usage:"))
        #expect(!FileManager.default.fileExists(atPath: root + "/0.png") && !FileManager.default.fileExists(atPath: root + "/t3/x"))
    }
}
