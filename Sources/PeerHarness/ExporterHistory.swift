public import PrometheusWire

/// Reproducible metric history shaped like real exporter output, for the archive-size benchmark.
///
/// `SampleHistory` draws every value at random; real scrapes are far more regular, and an archive
/// format is judged on them. This generator follows what a Prometheus scraping node exporters and
/// application pods stores:
/// - **Timestamps.** One scrape stamps every series of a target with the same millisecond. Targets
///   scrape every 15 s, some every 30 s or 60 s, each at its own phase; 3% of scrapes are 1–5 ms
///   late and 0.5% are missed (every series of the target skips that scrape).
/// - **Counters** grow by small integers or by 2-decimal CPU seconds, stay flat on idle endpoints and
///   idle CPU modes, and restart from 0 when the process restarts.
/// - **Gauges**: constants (`up`, `*_info`, sizes and limits), large integers that move in pages
///   (memory bytes), random walks with 2 decimals (load), and full-precision floats where exporters
///   report them (`scrape_duration_seconds`, `node_time_seconds`).
/// - **Classic histograms**: cumulative `_bucket{le=…}` series, `_sum` and `_count` from one stream
///   of observed requests, so they are correlated as real ones are.
/// - **Churn**: a third of the application targets are pods that live 2–12 hours; each replacement
///   has a new `pod` and `instance`, so series start and end inside a slab.
/// - **Labels** repeat heavily: a few metric families, shared `job`, `handler`, `cpu`, `mode` values.
///
/// Values depend only on the seed and the indices, so every machine generates the same samples.
public struct ExporterHistory: Sendable {
    /// Series alive at one time, about: targets are added until the template's series reach it.
    public let seriesCount: Int
    public let startMs: Int64
    public let endMs: Int64
    public let seed: UInt64

    /// Series of one node target and of one application target.
    static let seriesPerNode = 100
    static let seriesPerApp = 45

    public init(seriesCount: Int, startMs: Int64, endMs: Int64, seed: UInt64 = 7) {
        self.seriesCount = seriesCount
        self.startMs = startMs
        self.endMs = endMs
        self.seed = seed
    }

    /// Every series, target by target. Samples are in `[startMs, endMs)`.
    public func series() -> [Series] {
        var all: [Series] = []
        var alive = 0
        var target = 0
        while alive < max(seriesCount, 1) {
            let isNode = target % 2 == 0
            all += isNode ? node(target) : app(target)
            alive += isNode ? Self.seriesPerNode : Self.seriesPerApp
            target += 1
        }
        return all
    }

    // MARK: - Scrapes

    static let intervals: [Int64] = [15_000, 15_000, 15_000, 15_000, 30_000, 60_000]

    /// The timestamps of one target between `from` and `to`: a fixed phase, a few late, a few missed.
    func scrapes(target: Int, from: Int64, to: Int64, random: inout SplitMix) -> [Int64] {
        let interval = Self.intervals[target % Self.intervals.count]
        let phase = Int64(random.next() % UInt64(interval))
        var t = (from / interval) * interval + phase
        if t < from { t += interval }
        var times: [Int64] = []
        while t < to {
            let roll = random.next() % 1000
            if roll >= 5 {  // 0.5% missed
                times.append(roll < 35 ? t + Int64(1 + random.next() % 5) : t)  // 3% late by 1–5 ms
            }
            t += interval
        }
        return times
    }

    func generator(_ target: Int, _ part: UInt64) -> SplitMix {
        var seeder = SplitMix(seed: seed ^ (UInt64(target) &* 0xD1B5_4A32_D192_ED03) ^ (part &* 0x9E37_79B9_7F4A_7C15))
        return SplitMix(seed: seeder.next())
    }

    /// Builds series that share one target's timestamps: `value(name, scrapeIndex)` per series.
    struct Target {
        let times: [Int64]
        /// The scrape at which the process restarted and its counters began again from 0.
        let restart: Int?
        var series: [Series] = []
        let base: [Label]

        mutating func constant(_ name: String, _ value: Double) { constant(name, [], value) }
        mutating func constant(_ name: String, _ labels: [(String, String)], _ value: Double) {
            add(name, labels, values: Array(repeating: value, count: times.count))
        }
        mutating func counter(_ name: String, scale: Double = 1, _ step: (Int) -> Int64) { counter(name, [], scale: scale, step) }
        mutating func counter(_ name: String, _ labels: [(String, String)], scale: Double = 1, _ step: (Int) -> Int64) {
            add(name, labels, values: ExporterHistory.counter(times.count, restart: restart, scale: scale, step: step))
        }

        mutating func add(_ name: String, _ labels: [(String, String)] = [], values: [Double]) {
            let all = base + [Label("__name__", name)] + labels.map { Label($0.0, $0.1) }
            series.append(Series(labels: Labels(sorting: all), samples: zip(times, values).map { Sample(timestampMs: $0, value: $1) }))
        }
    }

    /// Integer steps accumulated into a counter that restarts from 0 at `restart`, divided by `scale`.
    static func counter(_ count: Int, restart: Int?, scale: Double = 1, start: Int64 = 0,
                        step: (Int) -> Int64) -> [Double] {
        var total = start
        return (0..<count).map { i in
            if i == restart { total = 0 }
            total += step(i)
            return Double(total) / scale
        }
    }

    /// A walk of integer steps from `start`, kept inside `range`, divided by `scale`.
    static func walk(_ count: Int, start: Int64, range: ClosedRange<Int64>, scale: Double = 1, step: (Int) -> Int64) -> [Double] {
        var value = start
        return (0..<count).map { i in
            value = min(max(value + step(i), range.lowerBound), range.upperBound)
            return Double(value) / scale
        }
    }

    /// A Go duration as exporters report it: `Duration.Seconds()` of whole nanoseconds, an exact
    /// 9-decimal value.
    static func seconds(nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e9 }

    /// A node exporter on a quiet VM: 100 series, most of them constant or idle, as real ones are.
    func node(_ index: Int) -> [Series] {
        var random = generator(index, 1)
        let times = scrapes(target: index, from: startMs, to: endMs, random: &random)
        let n = times.count
        let host = "node-\(index / 2)"
        let restart: Int? = random.next() % 4 == 0 ? Int(random.next() % UInt64(max(n, 1))) : nil
        var target = Target(times: times, restart: restart, base: [Label("job", "node"), Label("instance", "\(host).prod.internal:9100")])
        /// Mostly `quiet` (0 to quiet − 1 per scrape), one scrape in `every` a burst of up to `burst`.
        func bursty(_ quiet: UInt64, every: UInt64, burst: UInt64) -> (Int) -> Int64 {
            { _ in Int64(random.next() % every == 0 ? random.next() % burst : random.next() % quiet) }
        }
        target.constant("up", 1)
        target.add("scrape_duration_seconds", values: (0..<n).map { _ in Self.seconds(nanoseconds: 4_000_000 + random.next() % 9_000_000) })
        target.constant("scrape_samples_scraped", Double(100 + index % 7))
        target.constant("node_uname_info", [("release", "6.1.0-\(18 + index % 3)-amd64"), ("nodename", host)], 1)
        target.constant("node_os_info", [("id", "debian"), ("version_id", "12")], 1)
        target.constant("node_boot_time_seconds", Double(1_700_000_000 + index * 3617))
        target.add("node_time_seconds", values: times.map { Double($0 * 1_000_000 + Int64(random.next() % 1_000_000)) / 1e9 })
        let collectors = ["cpu", "diskstats", "filesystem", "meminfo", "netdev", "loadavg", "stat", "vmstat"]
        for collector in collectors {
            target.constant("node_scrape_collector_success", [("collector", collector)], 1)
        }
        for collector in collectors.prefix(4) {
            target.add("node_scrape_collector_duration_seconds", [("collector", collector)],
                       values: (0..<n).map { _ in Self.seconds(nanoseconds: 20_000 + random.next() % 2_000_000) })
        }
        let interval = Int64(times.count > 1 ? times[1] - times[0] : 15_000) / 1000
        for cpu in 0..<2 {
            target.constant("node_cpu_info", [("cpu", "\(cpu)"), ("model_name", "AMD EPYC 7B13")], 1)
            for mode in ["idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"] {
                let labels = [("cpu", "\(cpu)"), ("mode", mode)]
                switch mode {
                case "idle": target.counter("node_cpu_seconds_total", labels, scale: 100) { _ in interval * 97 + Int64(random.next() % 40) }
                case "user": target.counter("node_cpu_seconds_total", labels, scale: 100, bursty(30, every: 40, burst: 600))
                case "system": target.counter("node_cpu_seconds_total", labels, scale: 100, bursty(12, every: 40, burst: 200))
                case "iowait", "softirq": target.counter("node_cpu_seconds_total", labels, scale: 100, bursty(1, every: 20, burst: 4))
                default: target.constant("node_cpu_seconds_total", labels, 0)
                }
            }
        }
        let total: Int64 = [4, 8, 16, 32][index % 4] << 30
        target.constant("node_memory_MemTotal_bytes", Double(total))
        target.constant("node_memory_SwapTotal_bytes", 0)
        target.constant("node_memory_HugePages_Total", 0)
        target.constant("node_memory_VmallocTotal_bytes", 35_184_372_087_808)
        for (name, share) in [("MemAvailable", 60), ("MemFree", 20), ("Cached", 30), ("Buffers", 3), ("Active", 25), ("Inactive", 15)] {
            target.add("node_memory_\(name)_bytes", values: Self.walk(n, start: total / 100 * Int64(share), range: 0...total) { _ in
                random.next() % 3 == 0 ? (Int64(random.next() % 33) - 16) * 4096 : 0 })
        }
        for device in ["eth0", "lo"] {
            let labels = [("device", device)]
            for name in ["mtu_bytes", "up", "carrier", "iface_id"] {
                target.constant("node_network_\(name)", labels, device == "eth0" ? [1500, 1, 1, 2][name.count % 4] : [65536, 1, 1, 1][name.count % 4])
            }
            let busy = device == "eth0"
            target.counter("node_network_receive_bytes_total", labels, busy ? bursty(3_000, every: 20, burst: 400_000) : bursty(600, every: 50, burst: 8_000))
            target.counter("node_network_transmit_bytes_total", labels, busy ? bursty(2_000, every: 20, burst: 200_000) : bursty(600, every: 50, burst: 8_000))
            target.counter("node_network_receive_packets_total", labels, busy ? bursty(20, every: 20, burst: 400) : bursty(6, every: 50, burst: 60))
            target.counter("node_network_transmit_packets_total", labels, busy ? bursty(15, every: 20, burst: 300) : bursty(6, every: 50, burst: 60))
            for name in ["receive_errs", "transmit_errs", "receive_drop", "transmit_drop"] { target.constant("node_network_\(name)_total", labels, 0) }
        }
        for device in ["vda", "vdb"] {
            let busy = device == "vda"
            let labels = [("device", device)]
            target.counter("node_disk_writes_completed_total", labels, busy ? bursty(8, every: 10, burst: 200) : { _ in 0 })
            target.counter("node_disk_written_bytes_total", labels, busy ? { _ in 4096 * Int64(random.next() % 16) } : { _ in 0 })
            target.counter("node_disk_reads_completed_total", labels, bursty(1, every: 100, burst: 30))
            target.counter("node_disk_io_time_seconds_total", labels, scale: 1000, busy ? bursty(20, every: 10, burst: 900) : { _ in 0 })
        }
        for (mountpoint, size) in [("/", Int64(80) << 30), ("/boot", Int64(512) << 20)] {
            let labels = [("mountpoint", mountpoint), ("device", mountpoint == "/" ? "/dev/vda1" : "/dev/vda2"), ("fstype", "ext4")]
            target.constant("node_filesystem_size_bytes", labels, Double(size))
            target.constant("node_filesystem_files", labels, Double(size / 16384))
            target.constant("node_filesystem_readonly", labels, 0)
            target.add("node_filesystem_avail_bytes", labels, values: Self.walk(n, start: size / 2, range: 0...size) { _ in
                mountpoint == "/" && random.next() % 4 == 0 ? (Int64(random.next() % 64) - 40) * 4096 : 0 })
        }
        for (minutes, name) in [(1, "node_load1"), (5, "node_load5"), (15, "node_load15")] {
            target.add(name, values: Self.walk(n, start: 20, range: 0...400, scale: 100) { _ in
                random.next() % UInt64(minutes) == 0 ? Int64(random.next() % 9) - 4 : 0 })
        }
        target.counter("node_context_switches_total") { _ in Int64(3_000 + random.next() % 2_000) }
        target.counter("node_intr_total") { _ in Int64(2_000 + random.next() % 1_000) }
        target.counter("node_forks_total", bursty(4, every: 30, burst: 80))
        target.add("node_procs_running", values: (0..<n).map { _ in Double(1 + random.next() % 3) })
        target.constant("node_nf_conntrack_entries_limit", 262_144)
        target.counter("promhttp_metric_handler_requests_total", [("code", "200")]) { _ in 1 }
        target.constant("promhttp_metric_handler_requests_total", [("code", "500")], 0)
        target.constant("promhttp_metric_handler_requests_total", [("code", "503")], 0)
        target.counter("process_cpu_seconds_total", scale: 100) { _ in Int64(1 + random.next() % 3) }
        target.add("process_resident_memory_bytes", values: Self.walk(n, start: 24 << 20, range: (16 << 20)...(64 << 20)) { _ in
            random.next() % 2 == 0 ? (Int64(random.next() % 9) - 4) * 4096 : 0 })
        target.constant("process_max_fds", 1_048_576)
        target.add("process_open_fds", values: Self.walk(n, start: 9, range: 7...14) { _ in [1, -1, 0, 0, 0, 0, 0, 0, 0, 0][Int(random.next() % 10)] })
        target.add("go_goroutines", values: Self.walk(n, start: 8, range: 6...12) { _ in [1, -1, 0, 0, 0, 0][Int(random.next() % 6)] })
        target.add("go_memstats_alloc_bytes", values: (0..<n).map { _ in Double(2_000_000 + random.next() % 3_000_000) })
        target.constant("go_memstats_sys_bytes", Double(18_000_000 + index * 4096))
        target.constant("go_info", [("version", "go1.19.8")], 1)
        target.constant("node_exporter_build_info", [("version", "1.5.0"), ("goversion", "go1.19.8")], 1)
        return target.series
    }

    /// An application target, or a series of short-lived pods when `index % 3 == 1`: 45 series at a time.
    func app(_ index: Int) -> [Series] {
        var random = generator(index, 2)
        var lifetimes: [(from: Int64, to: Int64, name: String)] = []
        if index % 3 == 1 {
            var from = startMs - Int64(random.next() % 7_200_000)
            while from < endMs {
                let to = from + 7_200_000 + Int64(random.next() % 36_000_000)
                let suffix = String(random.next() % 0x1_0000_0000, radix: 36)
                lifetimes.append((max(from, startMs), min(to, endMs), "api-7d9f8c-\(suffix)"))
                from = to + 30_000
            }
        } else {
            lifetimes = [(startMs, endMs, "api-\(index / 2)")]
        }
        var all: [Series] = []
        for (lifetime, (from, to, pod)) in lifetimes.enumerated() {
            let times = scrapes(target: index, from: from, to: to, random: &random)
            let n = times.count
            guard n > 0 else { continue }
            let restart: Int? = lifetimes.count == 1 && random.next() % 3 == 0 ? Int(random.next() % UInt64(n)) : nil
            var target = Target(times: times, restart: restart, base: [Label("job", "api"), Label("namespace", "shop"), Label("pod", pod),
                                                     Label("instance", "10.4.\(index % 250).\(lifetime % 250):8080")])
            target.add("up", values: Array(repeating: 1, count: n))
            target.add("scrape_duration_seconds", values: (0..<n).map { _ in Self.seconds(nanoseconds: 2_000_000 + random.next() % 9_000_000) })
            target.add("app_build_info", [("version", "2.\(index % 4).1"), ("revision", "9f3c2ab")], values: Array(repeating: 1, count: n))
            target.add("app_config_max_connections", values: Array(repeating: 512, count: n))
            for handler in ["/api/orders", "/api/cart", "/api/users", "/healthz"] {
                for code in ["200", "500"] {
                    let busy = code == "200" ? (handler == "/healthz" ? 1 : 40) : 0
                    target.add("http_requests_total", [("handler", handler), ("code", code), ("method", "GET")],
                               values: Self.counter(n, restart: restart) { _ in
                                   busy > 0 ? Int64(random.next() % UInt64(busy * 2 + 1)) : (random.next() % 200 == 0 ? 1 : 0) })
                }
            }
            let bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
            let les = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"]
            for handler in ["/api/orders", "/api/cart"] {
                // One stream of observations feeds every bucket, _sum and _count.
                var buckets = [[Int64]](repeating: [], count: bounds.count + 1)
                var sums: [Double] = []
                var counts = [Int64](repeating: 0, count: bounds.count + 1)
                var sumMicros: Int64 = 0
                for i in 0..<n {
                    if i == restart { counts = counts.map { _ in 0 }; sumMicros = 0 }
                    for _ in 0..<(random.next() % 60) {
                        let micros = Int64(1_000 + random.next() % 40_000) * (random.next() % 4 == 0 ? 8 : 1)
                        sumMicros += micros
                        for (b, bound) in bounds.enumerated() where Double(micros) / 1e6 <= bound { counts[b] += 1 }
                        counts[bounds.count] += 1
                    }
                    for b in 0...bounds.count { buckets[b].append(counts[b]) }
                    sums.append(Double(sumMicros) / 1e6)
                }
                for b in bounds.indices {
                    target.add("http_request_duration_seconds_bucket", [("handler", handler), ("le", les[b])],
                               values: buckets[b].map(Double.init))
                }
                target.add("http_request_duration_seconds_bucket", [("handler", handler), ("le", "+Inf")], values: buckets[bounds.count].map(Double.init))
                target.add("http_request_duration_seconds_sum", [("handler", handler)], values: sums)
                target.add("http_request_duration_seconds_count", [("handler", handler)], values: buckets[bounds.count].map(Double.init))
            }
            target.add("process_cpu_seconds_total", values: Self.counter(n, restart: restart, scale: 100) { _ in Int64(5 + random.next() % 60) })
            target.add("process_resident_memory_bytes", values: Self.walk(n, start: 180 << 20, range: (120 << 20)...(400 << 20)) { _ in
                (Int64(random.next() % 41) - 20) * 4096 })
            target.add("process_start_time_seconds", values: (0..<n).map { i in Double(from / 1000 + ((restart.map { i >= $0 } ?? false) ? 40_000 : 0)) })
            target.add("go_goroutines", values: Self.walk(n, start: 120, range: 40...400) { _ in Int64(random.next() % 11) - 5 })
            target.add("go_gc_duration_seconds_count", values: Self.counter(n, restart: restart) { _ in Int64(random.next() % 3) })
            all += target.series
        }
        return all
    }
}
