import CFuzzDriver
import Foundation
import FuzzTargets

// akin-fuzz TARGET [libFuzzer options and corpus folders]: runs one FuzzTarget under libFuzzer.
// Built only by scripts/fuzz.sh (AKIN_FUZZ=1, -sanitize=fuzzer,address), which links libFuzzer's runtime.
// akin-fuzz seeds FOLDER writes the generated part of every target's seed corpus.

let arguments = CommandLine.arguments
let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: akin-fuzz TARGET [libFuzzer options] [CORPUS…], TARGET one of \(names); or akin-fuzz seeds FOLDER\n".utf8))
    exit(64)
}
if arguments[1] == "seeds", arguments.count == 3 {
    do { try FuzzSeeds.write(to: arguments[2]) } catch {
        FileHandle.standardError.write(Data("akin-fuzz: \(error)\n".utf8))
        exit(74)
    }
    exit(0)
}
guard let target = FuzzTarget(rawValue: arguments[1]) else {
    FileHandle.standardError.write(Data("akin-fuzz: no target \(arguments[1]); the targets are \(names)\n".utf8))
    exit(64)
}

target.prepare()
// The callback is a C function pointer, which captures nothing: the target goes through a global.
nonisolated(unsafe) var chosen = target
// libFuzzer parses the options that follow the target's name, as if the program were called with them.
var libFuzzerArguments = [arguments[0]] + arguments.dropFirst(2)
var pointers: [UnsafeMutablePointer<CChar>?] = libFuzzerArguments.map { strdup($0) } + [nil]
var argc = Int32(libFuzzerArguments.count)
let status = pointers.withUnsafeMutableBufferPointer { buffer -> Int32 in
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
    return LLVMFuzzerRunDriver(&argc, &argv) { bytes, size in
        chosen.run(size == 0 ? Data() : Data(bytes: bytes!, count: size))
        return 0
    }
}
exit(status)
