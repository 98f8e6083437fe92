import Foundation
import TestSupport
import Testing

/// `akin train` refuses a flag the chosen recipe, loss, miner or optimizer would not use, naming
/// it and what would use it, before any image is read.
@Suite("akin train refuses what does not apply")
struct TrainFlagsTests {
    @Test(arguments: [
        (["--batch", "8"], "--batch"),                                                   // the default recipe mines P×K batches
        (["--recipe", "seed", "--classes-per-batch", "4"], "--classes-per-batch"),       // the seed draws random triplets
        (["--recipe", "seed", "--soft-margin"], "--soft-margin"),
        (["--loss", "multi-similarity", "--margin", "0.3"], "--margin"),
        (["--loss", "normalized-softmax", "--miner", "hard"], "--miner"),
        (["--weight-decay", "0.01", "--optimizer", "adam"], "--weight-decay"),
        (["--momentum", "0.9"], "--momentum"),                                           // the default recipe's AdamW has none
        (["--temperature", "0.1"], "--temperature"),
        (["--instance-temperature", "0.2"], "--instance-temperature"),
        (["--ms-alpha", "3"], "--ms-alpha"),
        (["--val-every", "10"], "--val-every"),
        (["--scalars-every", "5"], "--scalars-every"),
    ])
    func isRefused(flags: [String], named flag: String) throws {
        let r = try CLI.run(["train", "/nonexistent-data", "--out", "/nonexistent/m.safetensors"] + flags)
        #expect(r.status == 64 && r.errors.contains(flag) && r.errors.contains("Usage:"), "\(r.errors)")
        #expect(!r.errors.contains("does not exist"), "refused before the data is looked at")
    }

    @Test func flagsThatApplyAreTaken() throws {
        // Each of these is used by what the other flags choose: validation stops only at the missing data.
        for flags in [["--recipe", "seed", "--batch", "8", "--momentum", "0.9"], ["--proxy-weight", "1", "--temperature", "0.1"],
                      ["--loss", "multi-similarity", "--ms-alpha", "3"], ["--soft-margin", "--miner", "hard"],
                      ["--val-classes", "1", "--val-every", "10"]] {
            let r = try CLI.run(["train", "/nonexistent-data", "--out", "/nonexistent/m.safetensors"] + flags)
            #expect(r.status != 64 && r.errors.contains("nonexistent-data"), "\(flags): \(r.errors)")
        }
    }
}
