import ArchiveFormat
import ArchiveStore
import ObjectStorage
import PeerHarness
import Synchronization
import Testing
import TestSupport

/// A bucket location against a real SeaweedFS, reached through a proxy that injects the faults a
/// store and a network produce: `503 SlowDown`, a connection reset while a part is uploaded (before
/// the store answered), and a download cut off mid-body.
@Suite(.serialized) struct S3LocationFaultTests {
    static func settings(_ endpoint: String) -> S3Settings {
        S3Settings(credentials: S3Credentials(accessKeyID: SeaweedServer.accessKey, secretAccessKey: SeaweedServer.secretKey),
                   region: "us-east-1", endpoint: endpoint, pathStyle: true)
    }

    static let slowDown = ScriptedReply.respond(status: 503, headers: [("Content-Type", "application/xml")], body: Array(
        "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>".utf8))

    struct Injected { var resets = 0, slowDowns = 0, cuts = 0 }

    @Test func multipartUploadsAndRangedReadsSurviveSlowDownAndResets() async throws {
        try await SeaweedServer.with { store in
            try store.makeBucket("faults")
            let injected = Mutex(Injected())
            let proxy = try await ScriptedHTTPServer { request, _ in
                injected.withLock { done -> ScriptedReply in
                    if request.method == "PUT" && request.uri.contains("partNumber=2&") {
                        if done.resets == 0 { done.resets += 1; return .close }
                        if done.slowDowns == 0 { done.slowDowns += 1; return Self.slowDown }
                    }
                    if request.method == "GET" && request.header("range") != nil && done.cuts == 0 {
                        done.cuts += 1
                        return .forward(baseURL: store.endpoint, cutAfter: 100_000)
                    }
                    return .forward(baseURL: store.endpoint, cutAfter: nil)
                }
            }
            defer { Task { try? await proxy.shutdown() } }
            let location = S3Location(url: "s3://faults/archive", settings: Self.settings(proxy.baseURL))
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15
            let bytes = (0..<(20 << 20)).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: state >> 33)
            }
            let writer = try location.create("segments/000000-0000.pfs")
            for start in stride(from: 0, to: bytes.count, by: 3 << 20) {
                try writer.write(Array(bytes[start..<min(bytes.count, start + (3 << 20))]))
            }
            try writer.commit()
            // awscli, an independent client, sees the whole object, and only it.
            #expect(try store.list("faults", prefix: "archive/") == ["archive/segments/000000-0000.pfs": 20 << 20])

            let reader = try location.open("segments/000000-0000.pfs")
            var read: [UInt8] = []
            while true {
                let chunk = try reader.read(1 << 20)
                if chunk.isEmpty { break }
                read += chunk
            }
            // Compared by count and first difference: a failing `==` on 20 MiB would make the test library diff them for hours.
            #expect(read.count == bytes.count)
            let firstDifference = zip(read, bytes).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(firstDifference == nil, "first difference at byte \(firstDifference ?? -1)")
            let faults = injected.withLock { $0 }
            #expect(faults.resets == 1 && faults.slowDowns == 1 && faults.cuts == 1)
            let uploads = proxy.received.filter { $0.method == "PUT" }
            #expect(uploads.count >= 3 + 2)  // three parts, two of them sent again
            #expect(uploads.allSatisfy { $0.header("x-amz-checksum-sha256") != nil })

            // A writer given up leaves nothing, not even its uploaded parts.
            let abandoned = try location.create("segments/000001-0000.pfs")
            try abandoned.write(Array(bytes.prefix(9 << 20)))
            abandoned.abandon()
            #expect(try store.list("faults", prefix: "archive/").count == 1)
            #expect(try location.entry("segments/000001-0000.pfs") == nil)
            #expect(try location.list("segments") == ["000000-0000.pfs"])
        }
    }

    @Test func aSecondWriterIsRefusedWhileTheFirstRenewsItsLock() async throws {
        try await SeaweedServer.with { store in
            try store.makeBucket("locks")
            let first = S3Location(url: "s3://locks/job", settings: Self.settings(store.endpoint))
            let second = S3Location(url: "s3://locks/job", settings: Self.settings(store.endpoint))
            try first.lockForWriting()
            #expect(first.writerHoldsLock() == true)
            let refusal = #expect(throws: ArchiveStoreError.self) { try second.lockForWriting() }
            #expect(refusal?.code == .locked)
            #expect(refusal?.message.contains("is in use by another promferry process (host ") == true, "\(String(describing: refusal))")
            #expect(first.holdsLock && !second.holdsLock)
            first.unlock()
            #expect(try store.list("locks", prefix: "").isEmpty)
            try second.lockForWriting()
            second.unlock()
        }
    }

    /// A manifest replaced between a follower's open and its first read is read in its new version;
    /// an object replaced mid-read fails the read instead of mixing two versions.
    @Test func aReplacedObjectIsReadWholeInOneVersion() async throws {
        try await SeaweedServer.with { store in
            try store.makeBucket("versions")
            let location = S3Location(url: "s3://versions/a", settings: Self.settings(store.endpoint))
            try location.writeAtomically(Array("first version\n".utf8), to: "manifest.json")
            let reader = try location.open("manifest.json")
            try location.writeAtomically(Array("the second, longer version\n".utf8), to: "manifest.json")
            #expect(String(decoding: try reader.read(1 << 20), as: UTF8.self) == "the second, longer version\n")

            var big = [UInt8](repeating: 7, count: 9 << 20)
            try location.writeAtomically(big, to: "segments/000000-0000.pfs")
            let midway = try location.open("segments/000000-0000.pfs")
            #expect(try midway.read(1 << 20).count == 1 << 20)  // the first 8 MiB range is held
            big[0] = 8
            try location.writeAtomically(big, to: "segments/000000-0000.pfs")
            _ = try midway.read(7 << 20)
            #expect(throws: ArchiveStoreError.self) { try midway.read(1 << 20) }
        }
    }

    /// AWS answers a request signed for another region than the bucket's in one of two ways (a 400
    /// `AuthorizationHeaderMalformed` naming the region, or a 301 with `x-amz-bucket-region`); SeaweedFS
    /// takes any region, so these are AWS's replies, scripted. Each is one line naming the bucket's region.
    @Test(arguments: [
        ScriptedReply.respond(status: 400, headers: [("Content-Type", "application/xml")], body: Array((
            "<Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; the region 'us-east-1' "
            + "is wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region></Error>").utf8)),
        ScriptedReply.respond(status: 301, headers: [("x-amz-bucket-region", "eu-west-1"), ("Content-Type", "application/xml")], body: Array(
            "<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message></Error>".utf8)),
    ])
    func aWrongRegionIsNamedWithTheBucketsRegion(reply: ScriptedReply) async throws {
        let server = try await ScriptedHTTPServer { _, _ in reply }
        let error = #expect(throws: ArchiveStoreError.self) { try S3Location(url: "s3://elsewhere/x", settings: Self.settings(server.baseURL)).list("") }
        try await server.shutdown()
        #expect(error?.message.contains("wrong region us-east-1 (the bucket is in eu-west-1); set AWS_REGION") == true, "\(String(describing: error))")
        #expect(error?.message.contains("\n") == false)
        #expect(server.received.count == 1)  // not retried
    }

    @Test func aMissingBucketAndAWrongKeyAreNamed() async throws {
        try await SeaweedServer.with { store in
            let missing = #expect(throws: ArchiveStoreError.self) {
                try S3Location(url: "s3://absent/x", settings: Self.settings(store.endpoint)).exists()
            }
            #expect(missing?.message.contains("bucket absent does not exist") == true)
            try store.makeBucket("present")
            let wrong = S3Settings(credentials: S3Credentials(accessKeyID: SeaweedServer.accessKey, secretAccessKey: "wrong"),
                                   region: "us-east-1", endpoint: store.endpoint, pathStyle: true)
            let refused = #expect(throws: ArchiveStoreError.self) { try S3Location(url: "s3://present/x", settings: wrong).list("") }
            #expect(refused?.message.contains("SignatureDoesNotMatch") == true && refused?.message.contains("wrong") == false)
        }
    }
}
