import Glibc

/// printf-style formatting through the C library, for the few places that want fixed decimals,
/// padding or exponent notation (`%.3f`, `%5.1f`, `%8d`, `%.16e`, `%02x`). Strings are interpolated
/// by the caller, never passed as `%s`.
public func cFormat(_ format: String, _ arguments: any CVarArg...) -> String {
    var capacity = 128
    while true {
        var buffer = [CChar](repeating: 0, count: capacity)
        let needed = Int(withVaList(arguments) { vsnprintf(&buffer, capacity, format, $0) })
        if needed < capacity { return String(decoding: buffer.prefix(needed).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        capacity = needed + 1
    }
}

extension StringProtocol {
    /// Without the characters at either end for which `drop` holds.
    public func trimmed(_ drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }), let last = lastIndex(where: { !drop($0) }) else { return "" }
        return String(self[first...last])
    }

    /// Without the spaces and tabs at either end.
    public func trimmedOfSpaces() -> String { trimmed { $0 == " " || $0 == "\t" } }

    /// Without the white space (spaces, tabs, line breaks) at either end.
    public func trimmedOfWhitespace() -> String { trimmed(\.isWhitespace) }
}
