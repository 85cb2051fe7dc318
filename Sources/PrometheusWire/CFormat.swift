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
