import PrometheusWire
import HTTPTransport
import NIOCore
import FoundationEssentials

/// A server's own words about an answer: at most 1 KiB of the body (as Prometheus' client keeps),
/// folded onto one line. Best effort: the status already says what happened, so a body that fails
/// to arrive leaves the message short rather than turning into another error.
enum ServerMessage {
    static let limit = 1024

    static func read(_ response: HTTPTransport.Response) async -> String {
        var collected: [UInt8] = []
        do {
            // Read to the end so that the connection can be reused, keeping only the first bytes.
            for try await buffer in response.body where collected.count < limit {
                collected += buffer.readableBytesView.prefix(limit - collected.count)
            }
        } catch {
            // Keep what arrived.
        }
        return String(decoding: collected, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmedOfSpaces() }.filter { !$0.isEmpty }.joined(separator: " ")
    }
}
