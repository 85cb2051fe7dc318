import PrometheusWire
import HTTPTransport
import FoundationEssentials
public import Logging
import NIOCore
import NIOHTTP1

extension RemoteReadClient {
    /// The labels a Prometheus-compatible source adds to every series it returns (`external_labels`),
    /// read from `/api/v1/status/config` beside the remote-read path. Best effort: sources without
    /// that endpoint (Mimir, InfluxDB, …) give an empty set; nothing fails because of it.
    public func externalLabels(logger: Logger) async -> [String: String] {
        guard endpoint.url.hasSuffix("/api/v1/read") else { return [:] }
        var request = HTTPTransport.Request(url: String(endpoint.url.dropLast("/api/v1/read".count)) + "/api/v1/status/config")
        request.headers = headers()
        request.headers.remove(name: "Content-Type")
        request.headers.remove(name: "Content-Encoding")
        do {
            let response = try await clientForHelpers.execute(request, deadline: .now() + .seconds(Int64(endpoint.readTimeoutSeconds)))
            guard response.status == .ok else { return [:] }
            let body = try await response.body.collect(upTo: 16 << 20)
            struct Reply: Decodable { struct Data: Decodable { let yaml: String }; let data: Data }
            let reply = try JSONDecoder().decode(Reply.self, from: Data(body.readableBytesView))
            return Self.parseExternalLabels(yaml: reply.data.yaml)
        } catch {
            logger.debug("no external labels from the source", metadata: ["error": "\(error)"])
            return [:]
        }
    }

    /// Reads `global.external_labels` from the YAML Prometheus prints (a flat map of scalars).
    static func parseExternalLabels(yaml: String) -> [String: String] {
        var labels: [String: String] = [:]
        var inGlobal = false
        var labelsIndent: Int?
        for raw in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            let indent = line.prefix { $0 == " " }.count
            let content = line.trimmedOfSpaces()
            if content.isEmpty || content.hasPrefix("#") { continue }
            if indent == 0 {
                inGlobal = content == "global:"
                labelsIndent = nil
                continue
            }
            guard inGlobal else { continue }
            if let base = labelsIndent {
                guard indent > base, let colon = content.firstIndex(of: ":") else { labelsIndent = nil; continue }
                let key = String(content[..<colon]).trimmedOfSpaces()
                var value = String(content[content.index(after: colon)...]).trimmedOfSpaces()
                if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                    value = String(value.dropFirst().dropLast())
                    if first == "\"" { value = value.replacing("\\\"", with: "\"").replacing("\\\\", with: "\\") }
                }
                labels[key] = value
            } else if content == "external_labels:" {
                labelsIndent = indent
            }
        }
        return labels
    }
}
