// swift-tools-version: 6.1
import Foundation
import PackageDescription

/// The folder holding this manifest: the run path below points the binaries at the librdkafka that
/// `ops/setup.sh` links into `.quorum/lib` (Debian 12's own 2.0.2 cannot talk to current brokers).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// Numeric kernels: AVX2/FMA code generation on x86-64 hosts (without it Swift emits SSE2 and
/// `addingProduct` becomes a libm call), plus F16C for the binary16 KV cache. Other CPUs, and
/// `QUORUM_PORTABLE=1 swift build` (for x86-64 machines without AVX2, which `quorum` detects and
/// names at start-up), get the portable build.
let portable = ProcessInfo.processInfo.environment["QUORUM_PORTABLE"] == "1"
#if arch(x86_64)
    let numericSettings: [SwiftSetting] =
        portable ? swiftSettings : swiftSettings + [.unsafeFlags(["-target-cpu", "haswell"])]
    let kernelCSettings: [CSetting] = [.unsafeFlags(portable ? ["-O2"] : ["-mavx2", "-mfma", "-mf16c", "-O2"])]
#else
    let numericSettings: [SwiftSetting] = swiftSettings
    let kernelCSettings: [CSetting] = [.unsafeFlags(["-O2"])]
#endif

let package = Package(
    name: "Quorum",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "quorum", targets: ["quorum"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.20.0"),
    ],
    targets: [
        // C libraries, at the bottom.
        .systemLibrary(
            name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        // Pure building blocks. QuorumCore, the leaf: the seeded RNG, stable hashes and sample streams,
        // parallel-for, the dedicated-thread executor, bf16 rounding.
        .target(name: "QuorumCore", swiftSettings: numericSettings),
        .target(name: "QuorumDigest", swiftSettings: numericSettings),
        .target(name: "SafeTensors", swiftSettings: swiftSettings),
        .target(name: "GGUF", swiftSettings: swiftSettings),
        .target(
            name: "NeuZip", dependencies: ["QuorumCore", "QuorumDigest", "SafeTensors"], swiftSettings: numericSettings,
            linkerSettings: [.linkedLibrary("m")]),
        .target(
            name: "QuorumTensor", dependencies: ["CBLAS", "QuorumCore"], swiftSettings: numericSettings,
            linkerSettings: [.linkedLibrary("m")]),
        .target(
            name: "QuorumModel", dependencies: ["QuorumCore", "QuorumTensor", "SafeTensors"], swiftSettings: numericSettings,
            linkerSettings: [.linkedLibrary("m")]),
        .target(
            name: "SCPO",
            dependencies: [
                "QuorumCore", "QuorumModel", "QuorumTensor", "QuorumVoting", "QuorumTraining", "QuorumTokenizer",
            ],
            swiftSettings: numericSettings),
        .target(name: "CQuantKernels", cSettings: kernelCSettings),
        .target(
            name: "QuorumQuant", dependencies: ["CQuantKernels", "QuorumCore"], swiftSettings: numericSettings,
            linkerSettings: [.linkedLibrary("m")]),
        .target(
            name: "QuorumServing",
            dependencies: [
                "QuorumCore", "QuorumModel", "QuorumQuant", "QuorumTensor", "SafeTensors", "QuorumTokenizer",
                "QuorumTraining",
            ],
            swiftSettings: numericSettings),
        .target(name: "QuorumTokenizer", swiftSettings: swiftSettings),
        .target(name: "QuorumTasks", dependencies: ["QuorumCore"], swiftSettings: swiftSettings),
        .target(name: "QuorumVoting", dependencies: ["QuorumCore", "QuorumTasks"], swiftSettings: swiftSettings),
        .target(
            name: "QuorumTraining", dependencies: ["QuorumCore", "QuorumModel", "QuorumTensor", "QuorumTokenizer", "QuorumTasks"],
            swiftSettings: numericSettings),

        // Infrastructure clients.
        .target(
            name: "QuorumKafka", dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings,
            linkerSettings: [.unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", "\(packageRoot)/.quorum/lib"])]),
        .target(name: "QuorumStore", dependencies: ["CLibPQ", "QuorumDigest"], swiftSettings: swiftSettings),
        .target(name: "QuorumStack", swiftSettings: swiftSettings),

        // Models in other runtimes' formats (GGUF for llama.cpp).
        .target(
            name: "QuorumExport", dependencies: ["GGUF", "QuorumModel", "QuorumTensor", "QuorumTokenizer"],
            swiftSettings: swiftSettings),

        // The pipeline: specs, schema access, artifact store, sink, round manager.
        .target(
            name: "QuorumPipeline",
            dependencies: [
                "QuorumCore", "QuorumKafka", "QuorumStore", "QuorumStack", "QuorumTasks", "QuorumDigest", "QuorumVoting",
                "QuorumModel", "QuorumTensor", "QuorumTokenizer", "QuorumTraining", "NeuZip", "SCPO", "QuorumServing",
                .product(name: "Yams", package: "Yams"), .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings),

        // One line per log event (text or JSON, time, level), to standard error or a rotated file.
        .target(
            name: "QuorumLogging", dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),

        // Metrics of a long-running process (recorded through swift-metrics) served as Prometheus text.
        .target(
            name: "QuorumMetrics",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "FlyingFox", package: "FlyingFox"), .product(name: "FlyingSocks", package: "FlyingFox"),
            ],
            swiftSettings: swiftSettings),

        // Experiments: every mode from shared seed models, results in PostgreSQL, the paper-shaped table.
        .target(
            name: "QuorumExperiments",
            dependencies: [
                "QuorumCore", "QuorumPipeline", "QuorumStore", "QuorumDigest", "QuorumServing", "QuorumTasks", "QuorumTraining",
                "QuorumVoting", "QuorumTokenizer", "SCPO", .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings),

        // `quorum dashboard`: one live page over PostgreSQL.
        .target(
            name: "QuorumDashboard",
            dependencies: [
                "QuorumPipeline", "QuorumExperiments", "QuorumStore", "QuorumMetrics",
                .product(name: "FlyingFox", package: "FlyingFox"),
            ],
            swiftSettings: swiftSettings),

        // Benchmarks: one type per `quorum bench` command, each returning an Encodable report.
        .target(
            name: "QuorumBench",
            dependencies: [
                "QuorumCore", "QuorumKafka", "QuorumStore", "QuorumModel", "QuorumTensor", "QuorumTraining",
                "QuorumQuant", "QuorumServing", "NeuZip", "SafeTensors",
            ],
            swiftSettings: numericSettings),

        // The command-line tool, at the top.
        .executableTarget(
            name: "quorum",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "QuorumCore", "QuorumKafka", "QuorumStore", "QuorumStack", "QuorumPipeline", "NeuZip", "SafeTensors", "QuorumTasks",
                "QuorumTokenizer", "QuorumModel", "QuorumVoting", "QuorumTraining", "SCPO", "QuorumQuant", "QuorumServing",
                "GGUF", "QuorumExport", "QuorumExperiments", "QuorumBench", "CQuantKernels", "QuorumMetrics",
                "QuorumDashboard", "QuorumLogging", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),

        // Fast tests of pure code.
        .testTarget(name: "NeuZipTests", dependencies: ["NeuZip", "QuorumDigest", "SafeTensors"]),
        .testTarget(
            name: "QuorumModelTests", dependencies: ["QuorumModel", "QuorumTensor", "QuorumQuant"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "QuorumTrainingTests",
            dependencies: ["QuorumTraining", "QuorumModel", "QuorumTokenizer", "QuorumTasks"]),
        .testTarget(
            name: "SCPOTests", dependencies: ["SCPO", "QuorumModel", "QuorumTensor", "QuorumVoting"],
            exclude: ["Fixtures"]),
        .testTarget(name: "QuorumQuantTests", dependencies: ["QuorumQuant"]),
        .testTarget(
            name: "QuorumServingTests",
            dependencies: ["QuorumServing", "QuorumModel", "QuorumQuant", "QuorumTensor", "QuorumTraining"]),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF"], exclude: ["Fixtures"]),
        .testTarget(name: "QuorumExportTests", dependencies: ["QuorumExport", "GGUF", "QuorumModel", "QuorumTokenizer"]),
        .testTarget(name: "QuorumTokenizerTests", dependencies: ["QuorumTokenizer"], exclude: ["Fixtures"]),
        .testTarget(name: "QuorumTasksTests", dependencies: ["QuorumTasks"]),
        .testTarget(name: "QuorumVotingTests", dependencies: ["QuorumVoting", "QuorumTasks"]),
        .testTarget(name: "QuorumKafkaTests", dependencies: ["QuorumKafka"]),
        .testTarget(
            name: "QuorumExperimentsTests", dependencies: ["QuorumExperiments", "QuorumPipeline", "QuorumVoting", "SCPO"]),
        .testTarget(
            name: "QuorumPipelineTests",
            dependencies: ["QuorumPipeline", "QuorumTraining", "SCPO", "QuorumKafka", "QuorumStore"]),
        .testTarget(name: "QuorumLoggingTests", dependencies: ["QuorumLogging"]),
        .testTarget(
            name: "QuorumMetricsTests",
            dependencies: ["QuorumMetrics", .product(name: "CoreMetrics", package: "swift-metrics")]),
        .testTarget(
            name: "FuzzTests",
            dependencies: [
                "GGUF", "NeuZip", "QuorumCore", "QuorumPipeline", "QuorumTasks", "QuorumTokenizer", "QuorumVoting",
                "SafeTensors",
            ]),
        .testTarget(
            name: "QuorumBenchTests", dependencies: ["QuorumBench", "QuorumModel", "QuorumQuant", "QuorumServing"]),
        // Tests against the real PostgreSQL server and the real broker (started by ops/test.sh).
        .testTarget(
            name: "QuorumIntegrationTests",
            dependencies: [
                "QuorumKafka", "QuorumStore", "QuorumStack", "QuorumPipeline", "QuorumModel", "QuorumTokenizer",
                "QuorumTasks", "QuorumVoting", "QuorumExperiments", "QuorumServing", "QuorumDigest",
                "quorum",
            ],
            exclude: ["Fixtures"]),
    ]
)
