// swift-tools-version: 6.1
import PackageDescription

// Every target declares each module it imports (MemberImportVisibility holds them to it).
// MARK: - External packages (the copies this machine carries; see the README's Install section)
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let httpClient = Target.Dependency.product(name: "AsyncHTTPClient", package: "async-http-client")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")
let nioTLS = Target.Dependency.product(name: "NIOTLS", package: "swift-nio")
let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")

// Linux (glibc) only: the archive store calls Glibc directly (flock, O_NOFOLLOW, fsync of directories).
let package = Package(
    name: "promferry",
    products: [
        // One binary; prom-export, prom-import and prom-archive are symlinks to it (scripts/dist, scripts/link-tools).
        .executable(name: "promferry", targets: ["promferry"]),
        .executable(name: "promferry-demo", targets: ["promferry-demo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // MARK: C system libraries (only BlockCompression imports these)
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),

        // MARK: Libraries, bottom-up: source → slab planner → remote-read client → segment writer → manifest
        // snappy's version is only in its C++ header; this C++ target reads it for `--version`.
        .target(name: "CSnappyVersion", dependencies: ["CSnappy"]),
        .target(name: "BlockCompression", dependencies: ["CZstd", "CSnappy", "CSnappyVersion"]),
        .target(name: "PrometheusWire"),
        // A small HTTP/1.1 client on SwiftNIO (pooled keep-alive connections, TLS, streamed bodies), free of Foundation.
        .target(name: "HTTPTransport", dependencies: [nioCore, nioPosix, nioHTTP1, nioSSL]),
        // Prometheus TSDB blocks on disk, read without a server (`--source-tsdb`).
        .target(name: "TSDBBlocks", dependencies: ["PrometheusWire"]),
        .target(name: "ArchiveFormat", dependencies: ["PrometheusWire", "BlockCompression"]),
        // A small S3 client (SigV4 over HTTPTransport): what a bucket archive location needs, no SDK.
        .target(name: "ObjectStorage", dependencies: ["PrometheusWire", "HTTPTransport", crypto, nioCore, nioHTTP1]),
        // Archive locations: a directory, or a prefix of an S3 bucket.
        .target(name: "ArchiveStore", dependencies: ["ArchiveFormat", crypto, "PrometheusWire", "ObjectStorage"]),
        .target(name: "RemoteStorageClient", dependencies: ["PrometheusWire", "BlockCompression", "HTTPTransport", nioCore, nioPosix, nioHTTP1, nioTLS, nioSSL, logging]),
        .target(name: "ExportPipeline", dependencies: ["ArchiveStore", "RemoteStorageClient", "TSDBBlocks", logging, "ArchiveFormat", "PrometheusWire"]),
        .target(name: "ImportPipeline", dependencies: ["ArchiveStore", "RemoteStorageClient", crypto, logging, "ArchiveFormat", "PrometheusWire"]),
        .target(name: "ArchiveTools", dependencies: ["ArchiveStore", "ArchiveFormat", "PrometheusWire", "TSDBBlocks", logging]),
        .target(name: "FuzzTargets", dependencies: ["PrometheusWire", "ArchiveFormat", "ArchiveTools", "BlockCompression", "TSDBBlocks"]),
        // Shared command-line pieces only; each command's own display and summary text live with it in Commands.
        .target(name: "CommandLineSupport", dependencies: ["PrometheusWire", "BlockCompression", "ArchiveFormat", "RemoteStorageClient", "ObjectStorage", "ArchiveStore", argumentParser, logging]),
        .target(name: "PeerHarness", dependencies: ["PrometheusWire", "BlockCompression", "ArchiveFormat", "ArchiveStore", "ObjectStorage", "RemoteStorageClient", httpClient, nioCore, logging, nioHTTP1]),

        // MARK: Commands (parse → configuration → pipeline.run; no logic), and the one executable
        .target(name: "Commands", dependencies: ["ExportPipeline", "ImportPipeline", "ArchiveTools", "ArchiveFormat", "RemoteStorageClient", "TSDBBlocks",
                                                 "CommandLineSupport", "PrometheusWire", argumentParser, logging]),
        .executableTarget(name: "promferry", dependencies: ["Commands"]),
        .executableTarget(name: "promferry-fuzz", dependencies: ["FuzzTargets"]),
        .executableTarget(name: "promferry-bench", dependencies: ["ArchiveStore", "ArchiveFormat", "BlockCompression", "PrometheusWire",
                                                              "PeerHarness", "CommandLineSupport", "ExportPipeline", "ImportPipeline", "RemoteStorageClient",
                                                              httpClient, nioCore, argumentParser, logging, nioHTTP1]),
        .executableTarget(name: "promferry-demo", dependencies: ["ExportPipeline", "ArchiveStore", "PeerHarness", "CommandLineSupport", argumentParser, logging, "PrometheusWire"]),

        // MARK: Tests
        .target(name: "TestSupport", dependencies: ["PrometheusWire", "BlockCompression", "ArchiveFormat", "ArchiveStore", httpClient, nioCore, nioPosix, nioHTTP1], path: "Tests/TestSupport"),
        .testTarget(name: "BlockCompressionTests", dependencies: ["BlockCompression"]),
        .testTarget(name: "PrometheusWireTests", dependencies: ["PrometheusWire", "BlockCompression", "PeerHarness"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ArchiveFormatTests", dependencies: ["ArchiveFormat", "ArchiveStore", "BlockCompression", "PrometheusWire", "PeerHarness"]),
        .testTarget(name: "CommandLineSupportTests", dependencies: ["CommandLineSupport"]),
        .testTarget(name: "CommandsTests", dependencies: ["Commands", "ImportPipeline"]),
        .testTarget(name: "RemoteStorageClientTests", dependencies: ["RemoteStorageClient", "PeerHarness", "TestSupport", logging, "BlockCompression", "PrometheusWire"]),
        .testTarget(name: "ExportPipelineTests", dependencies: ["ExportPipeline", "ArchiveStore", "ArchiveTools", "BlockCompression", "PeerHarness", "TestSupport", logging, "ArchiveFormat", "PrometheusWire", "RemoteStorageClient"]),
        .testTarget(name: "ImportPipelineTests", dependencies: ["ImportPipeline", "ExportPipeline", "ArchiveStore", "ArchiveTools", "BlockCompression", "PeerHarness", "TestSupport", logging, "ArchiveFormat", "PrometheusWire", "RemoteStorageClient"]),
        .testTarget(name: "ArchiveToolsTests", dependencies: ["ArchiveTools", "ArchiveStore", "PeerHarness", "TestSupport", "ArchiveFormat", "PrometheusWire", "TSDBBlocks"]),
        .testTarget(name: "HTTPTransportTests", dependencies: ["HTTPTransport", "TestSupport", nioCore, nioHTTP1]),
        .testTarget(name: "ObjectStorageTests", dependencies: ["ObjectStorage", "ArchiveStore", "ArchiveFormat", "PeerHarness", "TestSupport"]),
        .testTarget(name: "TSDBBlocksTests", dependencies: ["TSDBBlocks", "PeerHarness", "PrometheusWire"]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzTargets"]),
        .testTarget(name: "EndToEndTests", dependencies: ["ExportPipeline", "ObjectStorage", "ImportPipeline", "ArchiveStore", "PeerHarness", "TestSupport", logging, "ArchiveFormat", "BlockCompression", "PrometheusWire", "RemoteStorageClient"]),
    ]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("ExistentialAny"),
                                                           .enableUpcomingFeature("MemberImportVisibility"),
                                                           .enableUpcomingFeature("InternalImportsByDefault")]
}
