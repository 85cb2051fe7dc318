import FoundationEssentials

/// The few elements of S3's XML replies this client reads (`ListBucketResult`, `Error`,
/// `InitiateMultipartUploadResult`, `CopyObjectResult`). Their elements of interest hold text only,
/// so each is found by its tags; `&…;` entities are decoded.
enum S3XML {
    /// The text of every `<tag>…</tag>` in `text`, in order.
    static func values(_ tag: String, in text: Substring) -> [String] {
        elements(tag, in: text).map { decode($0) }
    }

    static func value(_ tag: String, in text: Substring) -> String? { values(tag, in: text).first }

    /// The raw content of every `<tag>…</tag>` (also `<tag attr="…">`), not decoded.
    static func elements(_ tag: String, in text: Substring) -> [Substring] {
        var found: [Substring] = []
        var rest = text
        let close = "</\(tag)>"
        while let open = rest.firstRange(of: "<\(tag)") {
            guard let end = rest[open.upperBound...].firstIndex(of: ">") else { break }
            let head = rest[open.upperBound..<end]
            guard head.isEmpty || head.first == " " else { rest = rest[end...]; continue }
            let contentStart = rest.index(after: end)
            guard let closing = rest[contentStart...].firstRange(of: close) else { break }
            found.append(rest[contentStart..<closing.lowerBound])
            rest = rest[closing.upperBound...]
        }
        return found
    }

    static func decode(_ raw: Substring) -> String {
        guard raw.contains("&") else { return String(raw) }
        var out = ""
        var rest = raw
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else { out += rest[amp...]; return out }
            let name = rest[rest.index(after: amp)..<semi]
            switch name {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let number = name.hasPrefix("#x") ? UInt32(name.dropFirst(2), radix: 16) : name.hasPrefix("#") ? UInt32(name.dropFirst()) : nil
                if let number, let scalar = Unicode.Scalar(number) { out.unicodeScalars.append(scalar) } else { out += rest[amp...semi] }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
