import ArchiveStore
import Dispatch
import FoundationEssentials

/// The durable record of what the target acknowledged (`formats/import-state-v2.md`; version-1
/// journals still resume, cutting their batches as version 1 did).
///
/// JSON lines: a header naming the import (archive, target, filter, batching), then one line per
/// acknowledged batch, one per finished segment, and a final `complete` line. Each line is fsynced
/// before the call that wrote it returns, so before the next batch of that sender is taken, and after a
/// crash at most the batches that were in flight are sent again.
///
/// Group commit: lines are written at once, and one fsync at a time runs on its own thread (a blocking
/// call on the cooperative pool would stall the senders' encoding); it covers every line written
/// before it began, so senders that acknowledge meanwhile share the next one instead of queueing an
/// fsync each.
actor ImportJournal {
    struct Header: Codable, Equatable {
        var journal = "promferry-import-state"
        /// 2 since histogram windows span a slab's segments (they spanned one segment in version 1).
        var version = 2
        /// `createdAt` of the archive's manifest: tells archives apart without hashing them.
        var archiveCreatedAt: String
        var archiveSource: String
        var target: String
        var filter: String
        var batchSamples: Int
        var batchBytes: Int
        var concurrency: Int
    }

    struct Entry: Codable {
        var segment: String?
        var batch: Int?
        var done: Bool?
        var samples: Int?
        var complete: Bool?
    }

    /// nil in stateless mode (`--no-state`): progress is then kept in memory and in the target only.
    private let file: JournalFile?
    let header: Header
    /// Segment paths in manifest order, to know how many leading segments are done.
    private var order: [String]
    private(set) var doneSegments: Set<String> = []
    private var acked: [String: Set<Int>] = [:]
    private var expected: [String: Int] = [:]
    private var samplesBySegment: [String: Int] = [:]
    /// Group commit: calls that wrote and wait (numbered in order), whether an fsync is under way, and
    /// which call each waiter is.
    private var writesWaiting = 0
    private var syncing = false
    /// `close()` calls waiting for the fsync under way to finish.
    private var waitingForIdle: [CheckedContinuation<Void, Never>] = []
    private var waitingForSync: [(line: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    private static let syncQueue = DispatchQueue(label: "promferry.import-journal.fsync")
    /// Whether the journal held progress from an earlier run.
    private(set) var resumed: Bool
    /// Segments finished by earlier runs.
    private(set) var doneSegmentsAtStart = 0

    /// Opens or creates the journal at `path` for the import described by `header`.
    /// An existing journal of another import (other archive, target or filter) is refused, and so is one
    /// cut with other batch settings (it is read by batch index), naming the settings that resume it.
    /// Progress kept in memory only, for `--no-state`; `alreadyDone` leading segments are skipped.
    init(header: Header, order: [String], alreadyDone: Int) {
        file = nil
        self.header = header
        self.order = order
        resumed = alreadyDone > 0
        doneSegments = Set(order.prefix(alreadyDone))
        doneSegmentsAtStart = doneSegments.count
    }

    init(path: String, header proposed: Header, order: [String]) throws {
        let file = try JournalFile(path: path)
        self.file = file
        self.order = order
        let lines = try file.lines()
        let decoder = JSONDecoder()
        guard let first = lines.first else {
            header = proposed
            resumed = false
            try file.append(String(decoding: try JSONEncoder.sorted.encode(proposed), as: UTF8.self))
            return
        }
        guard let existing = try? decoder.decode(Header.self, from: Data(first.utf8)),
              existing.journal == proposed.journal else {
            throw ImportError(.stateMismatch, "\(path) is not a prom-import state file; give --state another path")
        }
        guard existing.version <= proposed.version else {
            throw ImportError(.stateMismatch, "\(path) has state format version \(existing.version), newer than this tool "
                + "supports (\(proposed.version)); upgrade promferry")
        }
        for (what, old, new) in [("archive", existing.archiveCreatedAt + " " + existing.archiveSource,
                                  proposed.archiveCreatedAt + " " + proposed.archiveSource),
                                 ("target", existing.target, proposed.target), ("selection and relabelling", existing.filter, proposed.filter)]
            where old != new {
            throw ImportError(.stateMismatch, "\(path) records an import with another \(what) (\(old), not \(new)); "
                + "give --state another file for a new import, or repeat that import's arguments to resume it")
        }
        // Batches are known by their index within a segment, so a resumed import must cut them as before;
        // new limits would be silently ignored, so they are refused with the values that resume.
        if (existing.concurrency, existing.batchSamples, existing.batchBytes) != (proposed.concurrency, proposed.batchSamples, proposed.batchBytes) {
            throw ImportError(.stateMismatch, "\(path) records an import cut into batches of --concurrency \(existing.concurrency) "
                + "--batch-samples \(existing.batchSamples) and at most \(existing.batchBytes) bytes; this run asks for "
                + "--concurrency \(proposed.concurrency) --batch-samples \(proposed.batchSamples) and \(proposed.batchBytes) bytes "
                + "(--concurrency, --batch-samples, --batch-bytes or --max-memory changed). A resumed import must cut its batches "
                + "as before to know which were delivered: repeat those values, or give --state a new file to start over")
        }
        header = existing
        resumed = true
        for line in lines.dropFirst() {
            guard let entry = try? decoder.decode(Entry.self, from: Data(line.utf8)) else { continue }
            guard let segment = entry.segment else { continue }
            if entry.done == true { doneSegments.insert(segment) }
            if let batch = entry.batch { acked[segment, default: []].insert(batch) }
        }
        for segment in doneSegments { acked[segment] = nil }
        doneSegmentsAtStart = doneSegments.count
    }

    func isAcknowledged(segment: String, batch: Int) -> Bool {
        acked[segment]?.contains(batch) ?? false
    }

    /// Records an acknowledged batch; returns once that is durable, with the samples of its segment
    /// when this batch was the segment's last (the segment is then done).
    @discardableResult
    func acknowledge(segment: String, batch: Int, samples: Int) async throws -> Int? {
        acked[segment, default: []].insert(batch)
        samplesBySegment[segment, default: 0] += samples
        try file?.write(#"{"batch":\#(batch),"segment":"\#(segment)"}"#)
        let done = try finishIfDone(segment)
        try await durable()
        return done
    }

    /// The producer has cut all `batches` batches of `segment`; returns the segment's samples when
    /// every batch was already acknowledged (the segment is then done).
    @discardableResult
    func expect(segment: String, batches: Int) async throws -> Int? {
        expected[segment] = batches
        let done = try finishIfDone(segment)
        if done != nil { try await durable() }
        return done
    }

    /// Writes the segment's `done` line once all its batches are acknowledged; returns its samples if it did.
    private func finishIfDone(_ segment: String) throws -> Int? {
        guard let count = expected[segment], (acked[segment]?.count ?? 0) >= count, !doneSegments.contains(segment) else { return nil }
        doneSegments.insert(segment)
        acked[segment] = nil
        let samples = samplesBySegment[segment] ?? 0
        try file?.write(#"{"done":true,"samples":\#(samples),"segment":"\#(segment)"}"#)
        return samples
    }

    func markComplete() async throws {
        try file?.write(#"{"complete":true}"#)
        try await durable()
    }

    /// Waits until every line written so far is durable: joins the next fsync, starting one if none runs.
    private func durable() async throws {
        guard file != nil else { return }
        writesWaiting += 1  // each call's lines were written before it takes its number
        let line = writesWaiting
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            waitingForSync.append((line, continuation))
            if !syncing {
                syncing = true
                Task { await self.runSyncs() }
            }
        }
    }

    /// fsyncs until nobody waits: each fsync covers everything written before it began.
    private func runSyncs() async {
        while !waitingForSync.isEmpty, let file {
            let covered = writesWaiting
            let handle = file.syncHandle
            let result: Result<Void, any Error> = await withCheckedContinuation { done in
                Self.syncQueue.async { done.resume(returning: Result { try handle.sync() }) }
            }
            let ready = waitingForSync.filter { $0.line <= covered }
            waitingForSync.removeAll { $0.line <= covered }
            for waiter in ready { waiter.continuation.resume(with: result) }
        }
        syncing = false
        let idle = waitingForIdle
        waitingForIdle = []
        for waiter in idle { waiter.resume() }
    }

    /// Closes the journal once no fsync runs, so its lock is free when the import returns or throws:
    /// a second import started at once (by a script, or in the same process) must not find it held.
    func close() async {
        if syncing { await withCheckedContinuation { waitingForIdle.append($0) } }
        file?.close()
    }

    /// How many segments, from the first in manifest order, are done without a gap.
    var leadingSegmentsDone: Int {
        order.prefix { doneSegments.contains($0) }.count
    }

    /// A followed archive grew: `order` is the new manifest's segment list, which starts with the old one.
    func extend(order newOrder: [String]) {
        order = newOrder
    }

    /// Adopts progress read from the target (stateless resume): the first `count` segments are done.
    func adoptLeadingSegmentsDone(_ count: Int) {
        for segment in order.prefix(count) where !doneSegments.contains(segment) {
            doneSegments.insert(segment)
            acked[segment] = nil
        }
        doneSegmentsAtStart = doneSegments.count
        if count > 0 { resumed = true }
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
