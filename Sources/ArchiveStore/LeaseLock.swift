import ArchiveFormat
import Dispatch
import FoundationEssentials
import Glibc
import ObjectStorage
import Synchronization

/// The writers' lock of a bucket location: an object whose ETag changes at every renewal.
///
/// No clock is compared: a writer that finds the lock taken watches it for one lease. A holder that
/// is alive renews it within `S3Location.heartbeatSeconds`, so the ETag changes and the newcomer
/// gives up at once (`.locked`, naming the holder). A lock whose ETag stays the same for the whole
/// lease belongs to a process that died; it is taken over with `If-Match` on that ETag, so of two
/// newcomers only one wins.
final class LeaseLock: Sendable {
    let client: S3Client
    let key: String
    let url: String
    private let owner = UUID().uuidString
    private struct State {
        var etag = ""
        var renewals = 0
        var lastRenewal = ContinuousClock.now
        var lost: String?
        var released = false
    }
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "promferry.s3-lock")

    init(client: S3Client, key: String, url: String) {
        self.client = client
        self.key = key
        self.url = url
    }

    var lost: Bool { state.withLock { $0.lost != nil } }
    var lossReason: String { state.withLock { $0.lost ?? "" } }

    private func body(_ renewal: Int) -> [UInt8] {
        let host = ProcessInfo.processInfo.hostName
        return Array(#"{"owner":"\#(owner)","host":"\#(host)","pid":\#(getpid()),"renewal":\#(renewal)}"#.utf8) + [0x0A]
    }

    func acquire() throws {
        if let etag = try? client.put(key, body(0), ifNoneMatch: true) { return hold(etag) }
        guard let first = try client.head(key) else {
            // Released between our two calls: one more try, and a loser is told plainly.
            return hold(try create())
        }
        let watched = ContinuousClock.now
        while ContinuousClock.now - watched < .seconds(S3Location.leaseSeconds) {
            sleep(1)
            guard let seen = try client.head(key) else { return hold(try create()) }
            if seen.etag != first.etag { throw held() }
        }
        do {
            hold(try client.put(key, body(0), ifMatch: first.etag))
        } catch let error as ObjectStoreError where error.code == .preconditionFailed {
            throw held()
        }
    }

    private func create() throws -> String {
        do {
            return try client.put(key, body(0), ifNoneMatch: true)
        } catch let error as ObjectStoreError where error.code == .preconditionFailed {
            throw held()
        }
    }

    /// What a lock object says of its holder.
    private struct Holder: Decodable {
        let host: String
        let pid: Int
    }

    /// The refusal, naming the holder as its lock object says.
    private func held() -> ObjectStoreError {
        var holder = ""
        if let bytes = try? client.get(key, offset: 0, length: 4096),
           let object = try? JSONDecoder().decode(Holder.self, from: Data(bytes)) {
            holder = " (host \(object.host), pid \(object.pid))"
        }
        return ObjectStoreError(.preconditionFailed, "\(url.dropLast(ArchiveNaming.lockFile.count + 1)) is in use by another promferry "
            + "process\(holder), which renews its lock \(url); wait for it to finish or stop it (a lock not renewed for "
            + "\(Int(S3Location.leaseSeconds)) s is taken over)")
    }

    private func hold(_ etag: String) {
        state.withLock { $0.etag = etag; $0.lastRenewal = .now }
        scheduleRenewal()
    }

    private func scheduleRenewal() {
        queue.asyncAfter(deadline: .now() + S3Location.heartbeatSeconds) { [weak self] in self?.renew() }
    }

    private func renew() {
        let (etag, renewal, done) = state.withLock { state -> (String, Int, Bool) in
            state.renewals += 1
            return (state.etag, state.renewals, state.released || state.lost != nil)
        }
        guard !done else { return }
        do {
            let next = try client.put(key, body(renewal), ifMatch: etag)
            state.withLock { $0.etag = next; $0.lastRenewal = .now }
        } catch let error as ObjectStoreError where error.code == .preconditionFailed {
            state.withLock { $0.lost = "another process replaced \(url)" }
            return
        } catch {
            let stale = state.withLock { state -> Bool in
                guard ContinuousClock.now - state.lastRenewal >= .seconds(S3Location.leaseSeconds) else { return false }
                state.lost = "it could not be renewed for \(Int(S3Location.leaseSeconds)) s: \(error)"
                return true
            }
            if stale { return }
        }
        scheduleRenewal()
    }

    /// Stops renewing and removes the lock, unless it was lost (it is then another's).
    func release() {
        let wasHeld = state.withLock { state -> Bool in
            defer { state.released = true }
            return !state.released && state.lost == nil
        }
        if wasHeld { try? client.delete(key) }
    }
}
