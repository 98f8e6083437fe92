import Foundation
import Tensors
import TestSupport
import Testing

/// `mpirun -np 2 akin train … --distributed` on this machine. Serialized: each job takes both cores.
@Suite("akin train --distributed under mpirun", .serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: MPI.mpirun)))
struct DistributedTrainingTests {
    /// The seed network has no batch norm, the one layer whose per-process statistics would make
    /// two processes compute otherwise than one: with it, two processes must reach one process's
    /// weights but for float rounding. 3 classes × 5 images split 8 + 7; random triplets split 15 + 15.
    /// SGD, not Adam: Adam divides each weight's step by its gradient's size, so a weight whose
    /// gradient is rounding noise steps ±lr whichever way the noise falls, in one process or two.
    static let configurations: [[String]] = [
        // Batch-all mining over the gathered batch, shifted images (each draws by its global position).
        ["--recipe", "default", "--backbone", "seed", "--classes-per-batch", "3", "--images-per-class", "5", "--margin", "1",
         "--crop-padding", "2", "--schedule", "constant", "--warmup-steps", "0", "--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9"],
        // The seed's random triplets with SGD and Nesterov momentum.
        ["--recipe", "seed", "--batch", "10", "--lr", "0.05"],
    ]

    @Test(arguments: configurations)
    func twoProcessesReachTheWeightsOfOne(flags: [String]) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try makeDataset(at: folder + "/data", perClass: 10)
        let common = ["train", folder + "/data", "--threads", "1", "--seed", "7"] + flags
        for steps in ["3", "4"] {
            let r = try CLI.run(common + ["--out", "\(folder)/one-\(steps).safetensors", "--steps", steps])
            #expect(r.status == 0, "\(r.errors)")
        }
        let two = try MPI.run(processes: 2, common + ["--out", folder + "/two.safetensors", "--steps", "4", "--distributed"], log: folder + "/two")
        let result = try #require(two, "mpirun did not end within a minute")
        #expect(result.status == 0, "\(result.errors)")

        let one = try SafeTensorsFile.read(from: folder + "/one-4.safetensors")
        let distributed = try SafeTensorsFile.read(from: folder + "/two.safetensors")
        let fewer = try SafeTensorsFile.read(from: folder + "/one-3.safetensors")
        #expect(Set(one.tensors.keys) == Set(distributed.tensors.keys))
        func largestDifference(_ a: SafeTensorsFile, _ b: SafeTensorsFile) -> Float {
            a.tensors.reduce(0) { largest, entry in
                guard let other = b.tensors[entry.key] else { return .infinity }
                return zip(entry.value.buffer, other.buffer).reduce(largest) { max($0, abs($1.0 - $1.1)) }
            }
        }
        // One step's change is far above the tolerance, so the comparison can tell steps apart.
        #expect(largestDifference(one, fewer) > 1e-3)
        #expect(largestDifference(one, distributed) < 1e-4, "two processes drifted from one")
    }

    /// A process killed mid-run ends the whole job at once with mpirun's word on which and how;
    /// the same command with --resume continues from the last checkpoint, and with another process
    /// count is refused.
    @Test func aKilledProcessEndsTheJobAndResumeContinues() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try makeDataset(at: folder + "/data", perClass: 10)
        let checkpoint = folder + "/m.safetensors.checkpoint"
        let common = ["train", folder + "/data", "--out", folder + "/m.safetensors", "--threads", "1", "--recipe", "default",
                      "--backbone", "seed", "--classes-per-batch", "3", "--images-per-class", "4", "--checkpoint-every", "5", "--distributed"]
        let job = try MPI.start(processes: 2, common + ["--steps", "1000000"], log: folder + "/killed")
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: checkpoint) && job.isRunning && Date() < deadline { usleep(20_000) }
        let victim = MPI.rank(1, of: job)
        #expect(victim != nil && FileManager.default.fileExists(atPath: checkpoint), "no checkpoint or no rank 1 to kill")
        if let victim { kill(victim, SIGKILL) }
        #expect(MPI.wait(for: job, timeout: 30), "the job hung after losing a process")
        #expect(job.terminationStatus != 0)
        let errors = readText(folder + "/killed.err") ?? ""
        #expect(errors.contains("rank 1") && errors.contains("signal 9"), "\(errors)")

        let step = try #require(Int(try SafeTensorsFile.read(from: checkpoint).metadata["akin.checkpoint.step"] ?? ""))
        let alone = try CLI.run(Array(common.dropLast()) + ["--steps", String(step + 3), "--resume"])
        #expect(alone.status != 0 && alone.errors.contains("mpirun -np 2"), "\(alone.errors)")
        let resumed = try #require(try MPI.run(processes: 2, common + ["--steps", String(step + 3), "--resume"], log: folder + "/resumed"))
        #expect(resumed.status == 0, "\(resumed.errors)")
        #expect(try SafeTensorsFile.read(from: checkpoint).metadata["akin.checkpoint.step"] == String(step + 3))
        #expect(FileManager.default.fileExists(atPath: folder + "/m.safetensors"))
    }

    @Test func distributedIsRefusedOutsideMpirunAndWithValidationAndRequiredUnderIt() throws {
        let outside = try CLI.run(["train", "/nonexistent-data", "--out", "/nonexistent/m.safetensors", "--distributed"])
        #expect(outside.status == 64 && outside.errors.contains("mpirun -np N"), "\(outside.errors)")
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let validating = try #require(try MPI.run(processes: 2, ["train", "/nonexistent-data", "--out", folder + "/m.safetensors",
                                                                 "--val-split", "0.2", "--distributed"], log: folder + "/validating"))
        #expect(validating.status != 0 && validating.errors.contains("--val-split") && !validating.errors.contains("nonexistent-data"),
                "\(validating.errors)")
        let alone = try #require(try MPI.run(processes: 2, ["train", "/nonexistent-data", "--out", folder + "/m.safetensors"], log: folder + "/alone"))
        #expect(alone.status != 0 && alone.errors.contains("add --distributed") && !alone.errors.contains("nonexistent-data"), "\(alone.errors)")
    }
}
