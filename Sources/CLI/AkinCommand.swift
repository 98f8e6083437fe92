import Akin
import ArgumentParser

@main
struct AkinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "akin",
        abstract: "Learned image similarity: train a triplet network, embed a gallery, search it, evaluate.",
        subcommands: [ImportIDX.self, Import.self, Train.self, Embed.self, GalleryCommand.self, IndexCommand.self, Search.self, Calibrate.self, Eval.self, Report.self, Export.self])

    /// Sizes the OpenMP (oneDNN) and OpenBLAS pools once, before any kernel runs.
    static func configureThreads(_ requested: Int?) {
        ComputeThreads.configure(count: requested ?? ProcessInfo.processInfo.activeProcessorCount)
    }
}

import Foundation
