import Foundation
import Search
import Tensors
import Testing

/// Temporary files of a killed writer are removed at the next open or write; a live writer's stay.
@Suite("Leftover temporary files")
struct LeftoverFilesTests {
    /// The id of a process that has ended.
    func deadProcess() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    @Test func deadWritersTemporariesGoLiveOnesStay() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/g.akin"
        try SQLiteGalleryStore.create(at: path, dimension: 2, modelFingerprint: nil).close()
        let dead = try deadProcess(), live = getpid()
        let deadNames = [".g.akin.tmp-\(dead)", ".g.akin.tmp-\(dead)-wal", ".g.akin.index.tmp-\(dead)-12345"]
        let liveNames = [".g.akin.tmp-\(live)", ".other.akin.tmp-\(dead)"]
        for name in deadNames + liveNames { #expect(FileManager.default.createFile(atPath: folder + "/" + name, contents: Data([1]))) }

        _ = try SQLiteGalleryStore.open(path)
        try AtomicFile.write(Data([2]), to: path + ".index")
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: folder))
        #expect(left.isDisjoint(with: deadNames), "left: \(left)")
        #expect(Set(liveNames).isSubset(of: left), "a running process's temporaries, and another file's, are not touched")
    }

    /// A whole-gallery write over an existing gallery (`akin embed --overwrite`) takes the old one's
    /// write lock, replaces it and leaves no temporary: bench/faults.sh found the lock stopping the process.
    @Test func aWholeGalleryReplacesAnExistingOne() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/g.akin"
        for (round, vector) in [[Float(1), 0], [0, 1]].enumerated() {
            try SQLiteGalleryStore.createWhole(at: path, overwrite: true, dimension: 2, modelFingerprint: nil) { store in
                _ = try store.add([NewItem(path: "item\(round)", label: "x")], vectors: vector)
            }
            let store = try SQLiteGalleryStore.open(path)
            #expect(try store.items().map(\.path) == ["item\(round)"])
            try store.close()
        }
        #expect {
            try SQLiteGalleryStore.createWhole(at: path, overwrite: false, dimension: 2, modelFingerprint: nil) { _ in }
        } throws: { error in
            if case GalleryStoreError.exists(path) = error { true } else { false }
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.contains(".tmp-") }
        #expect(left.isEmpty, "left: \(left)")
    }
}
