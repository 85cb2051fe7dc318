/// A local peer (Prometheus, promtool, VictoriaMetrics) that is missing or misbehaves.
public struct PeerHarnessError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
