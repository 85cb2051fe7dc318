import NIOCore
import Synchronization

/// An open connection and the handler that runs its exchanges.
final class Connection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<ExchangeHandler>
    let key: RequestTarget.Key

    init(channel: any Channel, handler: ExchangeHandler, key: RequestTarget.Key) {
        self.channel = channel
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        self.key = key
    }
}

/// Idle keep-alive connections by scheme, host and port. A connection is in the pool only while no
/// exchange runs on it; one taken out is used by one exchange and then put back or closed.
final class ConnectionPool: Sendable {
    /// Idle connections kept per server: as many as a run has requests in flight to one server
    /// (`--concurrency` is at most 64), so that a steady run opens no new connections.
    static let maxIdlePerServer = 64

    private struct State {
        var idle: [RequestTarget.Key: [Connection]] = [:]
        var shutDown = false
    }
    private let state = Mutex(State())

    /// An idle connection that is still open, or nil.
    func take(_ key: RequestTarget.Key) -> Connection? {
        state.withLock { state in
            while let connection = state.idle[key]?.popLast() {
                if connection.channel.isActive { return connection }
            }
            return nil
        }
    }

    /// Returns a connection whose exchange ended; it is closed instead if it cannot be reused.
    func release(_ connection: Connection, reusable: Bool) {
        let kept = reusable && state.withLock { state in
            guard !state.shutDown, state.idle[connection.key, default: []].count < Self.maxIdlePerServer else { return false }
            state.idle[connection.key, default: []].append(connection)
            return true
        }
        if !kept { connection.channel.close(promise: nil) }
    }

    /// Closes every idle connection; connections released later are closed too.
    func shutdown() -> [any Channel] {
        state.withLock { state in
            state.shutDown = true
            defer { state.idle = [:] }
            return state.idle.values.flatMap { $0.map(\.channel) }
        }
    }

    var isShutDown: Bool { state.withLock { $0.shutDown } }
}
