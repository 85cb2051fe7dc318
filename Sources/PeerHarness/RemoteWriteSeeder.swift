import BlockCompression
public import PrometheusWire

/// Writes series straight into a remote-write receiver, for data that OpenMetrics text cannot
/// express (Prometheus' staleness marker is a specific NaN bit pattern; native histograms).
public enum RemoteWriteSeeder {
    /// Writes `series` in requests of at most about `samplesPerRequest` samples (a series larger than
    /// that is cut, in time order), so that a receiver's request size limit is never reached.
    public static func write(_ series: [Series], to url: String, samplesPerRequest: Int = 200_000) async throws {
        var batch: [WireTimeSeries] = []
        var inBatch = 0
        for s in series {
            var samples = s.samples[...]
            var histograms = s.histograms[...]
            repeat {
                let room = max(1, samplesPerRequest - inBatch)
                let floats = samples.prefix(room), hist = histograms.prefix(max(0, room - floats.count))
                batch.append(WireTimeSeries(labels: s.labels, samples: Array(floats), histograms: Array(hist)))
                inBatch += floats.count + hist.count
                samples = samples.dropFirst(floats.count)
                histograms = histograms.dropFirst(hist.count)
                if inBatch >= samplesPerRequest {
                    try await post(batch, to: url)
                    batch = []
                    inBatch = 0
                }
            } while !samples.isEmpty || !histograms.isEmpty
        }
        if !batch.isEmpty { try await post(batch, to: url) }
    }

    static func post(_ timeseries: [WireTimeSeries], to url: String) async throws {
        let body = Snappy.compress(WriteRequest(timeseries: timeseries).encode())
        let (status, text) = try await HTTPProbe.post(url, body: body, headers: [
            ("Content-Type", "application/x-protobuf"), ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ])
        guard (200..<300).contains(status) else {
            throw PeerHarnessError("seeding \(url) failed with HTTP \(status): \(text)")
        }
    }

    /// Writes `series` in time order across all of them, `windowMs` at a time: Prometheus before 3.0
    /// refuses histograms older than a series' newest and anything an hour older than the newest sample.
    public static func writeInTimeOrder(_ series: [Series], to url: String, windowMs: Int64 = 300_000) async throws {
        let times = series.flatMap { $0.samples.map(\.timestampMs) + $0.histograms.map(\.timestampMs) }
        guard let first = times.min(), let last = times.max() else { return }
        var start = first
        while start <= last {
            let end = start + windowMs
            let window = series.map { s in
                Series(labels: s.labels, samples: s.samples.filter { $0.timestampMs >= start && $0.timestampMs < end },
                       histograms: s.histograms.filter { $0.timestampMs >= start && $0.timestampMs < end })
            }.filter { !$0.samples.isEmpty || !$0.histograms.isEmpty }
            if !window.isEmpty { try await write(window, to: url) }
            start = end
        }
    }
}
