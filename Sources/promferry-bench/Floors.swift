import ArchiveFormat
import ArchiveStore
import AsyncHTTPClient
import BlockCompression
import Foundation
import NIOCore
import PrometheusWire
import Synchronization
import NIOHTTP1

/// What the network and the peer allow without promferry's work: the floors the tools are compared with.
enum Floors {
    /// The export's own requests (same slabs as its manifest, every series, streamed chunks first),
    /// `concurrency` at a time, each reply read to the end and thrown away: no decoding, no writing.
    static func exportFloor(readURL: String, slabs: [(startMs: Int64, endMs: Int64)], concurrency: Int) async throws -> Double {
        let bodies = slabs.map { slab in
            Snappy.compress(ReadRequest(queries: [Query(startMs: slab.startMs, endMsInclusive: slab.endMs - 1,
                                                        matchers: SeriesSelector.everySeries.matchers)],
                                        acceptedResponseTypes: [.streamedXORChunks, .samples]).encode())
        }
        return try await post(bodies, to: readURL, concurrency: concurrency, headers: [
            ("Content-Type", "application/x-protobuf"), ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Read-Version", "0.1.0")])
    }

    /// The archive as remote-write requests of at most `batchSamples` samples, encoded and
    /// snappy-compressed in memory ahead of time.
    static func encodeWriteRequests(archive path: String, batchSamples: Int) throws -> [[UInt8]] {
        let archive = ArchiveDirectory(root: path)
        var requests: [[UInt8]] = []
        var pending: [WireTimeSeries] = []
        var pendingSamples = 0
        func flush() {
            guard !pending.isEmpty else { return }
            requests.append(Snappy.compress(WriteRequest(timeseries: pending).encode()))
            pending = []
            pendingSamples = 0
        }
        for entry in try archive.readManifest().segments {
            var reader = try archive.segmentReader(entry)
            while let block = try reader.nextBlock() {
                for series in block {
                    var rest = series.samples[...]
                    while !rest.isEmpty {
                        let take = min(rest.count, batchSamples - pendingSamples)
                        pending.append(WireTimeSeries(labels: series.labels, samples: Array(rest.prefix(take))))
                        pendingSamples += take
                        rest = rest.dropFirst(take)
                        if pendingSamples == batchSamples { flush() }
                    }
                }
            }
        }
        flush()
        return requests
    }

    static let writeHeaders = [("Content-Type", "application/x-protobuf"), ("Content-Encoding", "snappy"),
                               ("X-Prometheus-Remote-Write-Version", "0.1.0")]

    /// POSTs every body, `concurrency` at a time, reading each reply to the end; returns the wall time.
    static func post(_ bodies: [[UInt8]], to url: String, concurrency: Int, headers: [(String, String)]) async throws -> Double {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let next = Ticket()
        let began = ContinuousClock.now
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        while true {
                            let index = next.take()
                            guard index < bodies.count else { return }
                            var request = HTTPClientRequest(url: url)
                            request.method = .POST
                            for (name, value) in headers { request.headers.add(name: name, value: value) }
                            request.body = .bytes(ByteBuffer(bytes: bodies[index]))
                            let response = try await client.execute(request, timeout: .seconds(600))
                            for try await _ in response.body {}
                            guard (200..<300).contains(Int(response.status.code)) else {
                                throw BenchError("\(url) answered \(response.status.code) to a floor request")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        let elapsed = ContinuousClock.now - began
        try await client.shutdown()
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}

/// Hands out 0, 1, 2, … to concurrent senders.
final class Ticket: Sendable {
    private let state = Mutex(0)
    func take() -> Int { state.withLock { n in defer { n += 1 }; return n } }
}
