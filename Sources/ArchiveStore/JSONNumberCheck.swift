/// Finds the first number in a JSON document that no manifest field can hold: one that is not a
/// whole number within the 64-bit integer range.
///
/// Foundation's decoder reports such a number only as "not valid JSON", with no key, which sends an
/// operator hunting through a 60 MiB file. This second pass, run only after a decode failed, names it.
enum JSONNumberCheck {
    /// The key path (`slabs.3.samples`) and text of the first such number in document order, or nil when
    /// every number fits (or the document is not JSON at all).
    static func firstUnrepresentable(in bytes: [UInt8]) -> (path: String, number: String)? {
        var scanner = Scanner(bytes: bytes)
        return try? scanner.value(path: [])
    }

    /// A JSON reader that keeps only what the search needs: the path to each number, and its text.
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        struct NotJSON: Error {}

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func expect(_ byte: UInt8) throws {
            skipSpace()
            guard index < bytes.count, bytes[index] == byte else { throw NotJSON() }
            index += 1
        }

        /// Reads one value; returns the first unrepresentable number in it.
        mutating func value(path: [String]) throws -> (path: String, number: String)? {
            skipSpace()
            guard index < bytes.count else { throw NotJSON() }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return nil }
                while true {
                    skipSpace()
                    let key = try string()
                    try expect(UInt8(ascii: ":"))
                    if let found = try value(path: path + [key]) { return found }
                    if try closes(with: UInt8(ascii: "}")) { return nil }
                }
            case UInt8(ascii: "["):
                index += 1
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return nil }
                var element = 0
                while true {
                    if let found = try value(path: path + [String(element)]) { return found }
                    element += 1
                    if try closes(with: UInt8(ascii: "]")) { return nil }
                }
            case UInt8(ascii: "\""):
                _ = try string()
                return nil
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                while index < bytes.count, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[index]) { index += 1 }
                return nil
            default:
                let start = index
                while index < bytes.count, "+-.0123456789eE".utf8.contains(bytes[index]) { index += 1 }
                guard index > start else { throw NotJSON() }
                let text = String(decoding: bytes[start..<index], as: UTF8.self)
                return Int64(text) == nil ? (path.joined(separator: "."), text) : nil
            }
        }

        /// After an object member or array element: true at the closing `closer`, false at a comma
        /// (another one follows); anything else is not JSON.
        mutating func closes(with closer: UInt8) throws -> Bool {
            skipSpace()
            guard index < bytes.count else { throw NotJSON() }
            index += 1
            if bytes[index - 1] == closer { return true }
            guard bytes[index - 1] == UInt8(ascii: ",") else { throw NotJSON() }
            return false
        }

        /// A string's text (escapes kept as written: keys here are plain names).
        mutating func string() throws -> String {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw NotJSON() }
            index += 1
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
            }
            guard index < bytes.count else { throw NotJSON() }
            index += 1
            return String(decoding: bytes[start..<index - 1], as: UTF8.self)
        }
    }
}
