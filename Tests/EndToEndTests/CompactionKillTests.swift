import ArchiveStore
import Foundation
import PeerHarness
import PrometheusWire
import Testing
import TestSupport
import ArchiveFormat

/// `prom-archive compact` SIGKILLed in each phase of its run: while it writes its first new segment,
/// once that segment is committed (before or while the manifest is written), and once the manifest
/// is (before or while the old segments are removed). Whenever it dies the archive reads back exactly
/// as before, and a re-run completes the job. The kills follow what the run has written (polled every
/// millisecond), not the clock, so a loaded machine moves them with the run.
@Suite struct CompactionKillTests {
    enum Phase: CaseIterable { case writingFirstSegment, firstSegmentCommitted, manifestCommitted }

    /// Whether the run in `path` has reached `phase`.
    static func reached(_ phase: Phase, _ path: String) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path + "/segments")) ?? []
        switch phase {
        case .writingFirstSegment: return names.contains { $0.hasSuffix("-c1.pfs.tmp") }
        case .firstSegmentCommitted: return names.contains { $0.hasSuffix("-c1.pfs") }
        case .manifestCommitted:
            return ((try? String(contentsOfFile: path + "/manifest.json", encoding: .utf8)) ?? "").contains("compactedFrom")
        }
    }

    @Test func aKilledCompactionLeavesAReadableArchiveAndARerunFinishesIt() async throws {
        let dir = try TemporaryDirectory(prefix: "promferry-compact-kill")
        defer { dir.remove() }
        let hour: Int64 = 3_600_000
        let start: Int64 = 1_700_000_000_000 / hour * hour
        let template = dir.path + "/template"
        try TestArchive.write(ExporterHistory(seriesCount: 300, startMs: start, endMs: start + 6 * hour).series(),
                              at: template, startMs: start, slabMs: hour, slabs: 6)
        let manifest = try ArchiveDirectory(root: template).readManifest()
        let original = try SeriesComparison.archiveContents(template)
        let work = dir.path + "/archive"
        func fresh() throws {
            try? FileManager.default.removeItem(atPath: work)
            try FileManager.default.copyItem(atPath: template, toPath: work)
        }
        func readsAsBefore() throws {
            #expect(SeriesComparison.differences(expected: original, actual: try SeriesComparison.archiveContents(work)).isEmpty)
        }
        var kills: [Phase: Int] = [:]
        for round in 0..<9 {
            let phase = Phase.allCases[round % 3]
            try fresh()
            let process = try Executables.start("prom-archive", ["compact", work])
            let killed: Bool = await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    while process.isRunning && !Self.reached(phase, work) { usleep(1000) }
                    let running = process.isRunning
                    if running { kill(process.processIdentifier, SIGKILL) }
                    process.waitUntilExit()
                    continuation.resume(returning: running)
                }
            }
            if killed { kills[phase, default: 0] += 1 }
            try readsAsBefore()
            let rerun = try await Executables.run("prom-archive", ["compact", work])
            #expect(rerun.status == 0, "\(rerun.stderr)")
            try readsAsBefore()
            let after = try ArchiveDirectory(root: work).readManifest()
            #expect(after.slabs.count == 1 && after.compactedFrom == manifest.createdAt)
            let verify = try await Executables.run("prom-archive", ["verify", work])
            #expect(verify.status == 0 && verify.stdout.contains("0 problems, 0 warnings"), "\(verify.stdout)")
        }
        print("compact kill test: kills by phase \(kills)")
        // Writing the segment lasts long enough to be hit every time; the later phases last milliseconds.
        #expect(kills[.writingFirstSegment] == 3 && kills.values.reduce(0, +) >= 5, "\(kills)")
    }
}
