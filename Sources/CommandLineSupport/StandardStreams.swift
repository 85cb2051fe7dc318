import Glibc

/// Text to standard output or standard error, written whole (a short write is continued) and
/// unbuffered, so that a line of progress and a line of error never interleave within one write.
public enum StandardStreams {
    public static func writeError(_ text: String) { write(text, to: STDERR_FILENO) }
    public static func writeOutput(_ text: String) { write(text, to: STDOUT_FILENO) }

    static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // a closed pipe: nobody reads any more
                }
                offset += written
            }
        }
    }
}
