import ArchiveStore
import BlockCompression
@testable import ExportPipeline
import Foundation
import PrometheusWire
import RemoteStorageClient
import Testing
import TestSupport
import ArchiveFormat

/// Replies a hostile or broken source could send. Each must end the export with a clear error,
/// without a partial slab in the manifest and without stray files.
@Suite struct HostileSourceTests {
    static let streamed = [("Content-Type", FakeRemoteReadSource.streamedContentType)]

    static func frameWithCorruptCRC() -> [UInt8] {
        var frame = ChunkedFrameDecoder.frame(ChunkedReadResponse(series: [], queryIndex: 0).encode() + [0x10, 0x00])
        frame[2] ^= 0xff
        return frame
    }

    /// A frame with a valid CRC whose message says a label is longer than the message.
    static func frameWithLengthPastTheEnd() -> [UInt8] {
        ChunkedFrameDecoder.frame([0x0a, 0x05, 0x0a, 0x7f, 0x0a, 0x01, 0x41])
    }

    static let cases: [(String, ScriptedReply, String)] = [
        ("bad CRC", .respond(status: 200, headers: streamed, body: frameWithCorruptCRC()), "CRC-32C mismatch"),
        ("frame over the size limit", .respond(status: 200, headers: streamed, body: [0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3, 4]),
         "over the limit"),
        ("snappy body declaring 4 GiB", .respond(status: 200, headers: [("Content-Type", "application/x-protobuf"), ("Content-Encoding", "snappy")],
                                                 body: [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]), "declares 4294967295 bytes"),
        ("protobuf length past the end", .respond(status: 200, headers: streamed, body: frameWithLengthPastTheEnd()), "past the end"),
        ("reply that trickles forever", .trickle(status: 200, headers: streamed, // a frame of 40 MB, one byte at a time
                                                 body: [0x80, 0xb4, 0x89, 0x13, 0, 0, 0, 0] + Array(repeating: 0, count: 100_000), intervalMs: 20),
         "longer than 1 s in all"),
        // Never within the test: at 4 s, a test machine busy enough to starve the event loops once delivered this
        // (empty, valid) reply before the client's 1 s deadline fired, and the slab was committed.
        ("reply that never starts", .delay(milliseconds: 600_000, then: .respond(status: 200, headers: streamed, body: [])),
         "longer than 1 s in all"),
        ("HTML error page", .respond(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")],
                                     body: Array("<html><body><h1>Sign in</h1></body></html>".utf8)), "text/html"),
        ("HTML 502 page", .respond(status: 502, headers: [("Content-Type", "text/html")],
                                   body: Array("<html>\n<body>Bad Gateway</body>\n</html>".utf8)), "HTTP 502: <html> <body>Bad Gateway</body> </html>"),
        ("redirect to another host", .respond(status: 307, headers: [("Location", "http://198.51.100.7/api/v1/read")], body: []),
         "redirects are not followed"),
    ]

    @Test(arguments: cases.indices)
    func endsWithAClearErrorAndNoPartialSlab(_ index: Int) async throws {
        let (name, reply, fragment) = Self.cases[index]
        try await withSource({ _, _ in reply }) { source, dir in
            let error = await #expect(throws: (any Error).self, "\(name)") {
                try await source.export {
                    var c = configuration(url: $0, archive: dir + "/a", attempts: 2)
                    // Short for the slow replies only: the others must not time out on a busy machine.
                    c.source.requestTimeoutSeconds = fragment.contains("longer than 1 s") ? 1 : 20
                    return c
                }
            }
            let message = "\(error.map { "\($0)" } ?? "")"
            #expect(message.contains(fragment), "\(name): \(message)")
            #expect(!message.contains("\n"))
            // Nothing committed, nothing left behind: the directory was new, so it is gone again.
            #expect(!FileManager.default.fileExists(atPath: dir + "/a"), "\(name): archive directory left behind")
            // A redirect is never followed.
            #expect(source.reads.count <= 2)
        }
    }

    @Test func aBrokenSlabLeavesEarlierSlabsIntact() async throws {
        // Keyed to the time asked for, not to the request count, so retries under load change nothing.
        try await withSource({ request, _ in
            let query = try? ReadRequest.decode(try Snappy.decompress(request.body, maxOutputBytes: 1 << 20)).queries.first
            return (query?.startMs ?? .max) < rangeStart + 2 * hour ? ExportPipelineFaultTests.data.answer(request.body)
                : .respond(status: 200, headers: Self.streamed, body: Self.frameWithCorruptCRC())
        }) { source, dir in
            await #expect(throws: ExportError.self) {
                try await source.export { configuration(url: $0, archive: dir + "/a", attempts: 2) }
            }
            let manifest = try ArchiveDirectory(root: dir + "/a").readManifest()
            #expect(manifest.slabs.count == 2)
            for segment in manifest.segments { try ArchiveDirectory(root: dir + "/a").readSegment(segment) }
            #expect(segmentFiles(dir + "/a").count == manifest.segments.count)
        }
    }
}
