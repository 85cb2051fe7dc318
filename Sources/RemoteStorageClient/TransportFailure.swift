import Glibc
import NIOCore
import NIOPosix

/// Transport failures told apart by their type (NIO's error values), never by their printed text.
enum TransportFailure {
    /// The peer refused the TCP connection: an `IOError` with `ECONNREFUSED`, or NIO's happy-eyeballs
    /// error when every address it tried refused.
    static func isConnectionRefused(_ error: any Error) -> Bool {
        switch error {
        case let io as IOError:
            return io.errnoCode == ECONNREFUSED
        case let connection as NIOConnectionError:
            return !connection.connectionErrors.isEmpty && connection.connectionErrors.allSatisfy { isConnectionRefused($0.error) }
        default:
            return false
        }
    }
}
