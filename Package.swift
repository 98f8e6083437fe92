// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Akin",
    products: [
        // `import Akin` brings the front door (Gallery, training, evaluation, reports) and every layer under it.
        .library(name: "Akin", targets: ["Akin"]),
        .executable(name: "akin", targets: ["akin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // `swift package generate-documentation` for the DocC catalog (scripts/docs.sh).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
        // `akin serve`: the HTTP server (no default traits: swift-configuration is not used), its metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Galleries in PostgreSQL + pgvector.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Debian's C libraries, reached through system-library targets.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // LAPACK, from the same libopenblas (Debian builds it in).
        .systemLibrary(name: "CLAPACK", path: "Sources/CLAPACK"),
        // The compiler's prefetch hint, which Swift cannot spell (a header only, nothing linked).
        .systemLibrary(name: "CPrefetch", path: "Sources/CPrefetch"),
        // Open MPI, for data-parallel training under mpirun; mpi.h is under /usr/lib/<triplet>/openmpi, found by pkg-config.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        // FreeType, for the text of the PNG figures.
        .systemLibrary(name: "CFreeType", path: "Sources/CFreeType", pkgConfig: "freetype2"),
        // libpng reports errors with longjmp; the shim keeps every libpng call in C so no jump crosses a Swift frame.
        .target(name: "CPNGShim", linkerSettings: [.linkedLibrary("png16")]),
        // Dot-product kernels with an AVX2+FMA version chosen at run time (Swift can't target a CPU feature per function).
        .target(name: "CVectorKernels"),

        .target(name: "Tensors", dependencies: ["COpenBLAS", "CDNNL"]),
        .target(name: "Networks", dependencies: ["Tensors", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(name: "Images", dependencies: ["Tensors", "CTurboJPEG", "CPNGShim", "CZlib"]),
        .target(name: "Similarity", dependencies: ["Tensors", "Networks", "Images"]),
        // The trainer's DataParallelGroup over MPI: kept out of Similarity, which knows only the protocol.
        .target(name: "MPIBackend", dependencies: ["Similarity", "CMPI"]),
        .target(name: "Search", dependencies: [
            "Tensors", "COpenBLAS", "CPrefetch", "CVectorKernels", "CZlib", .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Evaluation", dependencies: ["Tensors", "Search"]),
        .target(name: "Projection", dependencies: ["Tensors", "Search", "COpenBLAS", "CLAPACK"]),
        .target(name: "Reports", dependencies: ["Images", "Evaluation", "CFreeType", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // The front door: the workflow a Swift program, the CLI and the server share.
        .target(name: "Akin", dependencies: ["Tensors", "Networks", "Images", "Similarity", "MPIBackend", "Search", "Evaluation", "Projection", "Reports"]),
        // The HTTP service over the front door: collections, search, items, embedding, metrics, the web page.
        .target(name: "AkinServer", dependencies: [
            "Akin", .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "Metrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // The command line: argument parsing, progress, printing and exit codes over the front door.
        .executableTarget(name: "akin", dependencies: [
            "Akin", "AkinServer", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/CLI"),

        // The README's "Use from Swift" program, built and run by the tests so it cannot rot.
        .executableTarget(name: "SimilarImages", dependencies: ["Akin"], path: "Examples/SimilarImages"),

        // The speed benchmark's Akin side (bench/speed.sh runs it beside PyTorch).
        .executableTarget(name: "akin-bench", dependencies: ["Tensors", "Networks", "Images", "Similarity", "Projection"], path: "bench/AkinBench"),

        // What each fuzzer does with its bytes (fuzz/, scripts/fuzz.sh); the tests replay fuzz/regressions through it.
        .target(name: "FuzzTargets", dependencies: ["Akin", "CZlib", .product(name: "GRDB", package: "GRDB.swift")], path: "fuzz/Targets"),

        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "CDNNL", "TestSupport"], exclude: ["Fixtures"]),
        // Fixtures are read through #filePath (Tests/TestSupport/Fixture.swift), not bundled.
        .target(name: "TestSupport", dependencies: ["Images", "Networks", "Tensors"], path: "Tests/TestSupport"),
        .testTarget(name: "NetworksTests", dependencies: ["Networks", "Tensors", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ImagesTests", dependencies: ["Images", "Tensors", "TestSupport", "CZlib"], exclude: ["Fixtures"]),
        .testTarget(name: "SimilarityTests", dependencies: ["Similarity", "Networks", "Tensors", "Images", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "SearchTests", dependencies: ["Search", "Tensors", "CVectorKernels", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Search", "Tensors", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ProjectionTests", dependencies: ["Projection", "Tensors", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Images"]),
        .testTarget(name: "AkinTests", dependencies: ["Akin", "TestSupport", "FuzzTargets", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "AkinCLITests", dependencies: ["akin", "AkinServer", "SimilarImages", "Images", "Tensors", "Search", "Similarity", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

// The libFuzzer driver, only for scripts/fuzz.sh: it calls libFuzzer's LLVMFuzzerRunDriver, which
// only a build with `-sanitize=fuzzer` links, so an ordinary build leaves it out.
if Context.environment["AKIN_FUZZ"] == "1" {
    package.targets += [
        .systemLibrary(name: "CFuzzDriver", path: "fuzz/CFuzzDriver"),
        .executableTarget(name: "akin-fuzz", dependencies: ["FuzzTargets", "CFuzzDriver"], path: "fuzz/Driver"),
    ]
    package.products += [.executable(name: "akin-fuzz", targets: ["akin-fuzz"])]
}
