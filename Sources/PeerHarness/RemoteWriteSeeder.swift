import BlockCompression
import PrometheusWire

/// Writes a few series straight into a remote-write receiver, for data that OpenMetrics text cannot
/// express (Prometheus' staleness marker is a specific NaN bit pattern).
public enum RemoteWriteSeeder {
    public static func write(_ series: [Series], to url: String) async throws {
        let body = Snappy.compress(WriteRequest(timeseries: series.map { WireTimeSeries(labels: $0.labels, samples: $0.samples) }).encode())
        let (status, text) = try await HTTPProbe.post(url, body: body, headers: [
            ("Content-Type", "application/x-protobuf"), ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ])
        guard (200..<300).contains(status) else {
            throw PeerHarnessError("seeding \(url) failed with HTTP \(status): \(text)")
        }
    }
}
