import Glibc

/// Why a TSDB directory or block cannot be read. Every message names the directory, block or file,
/// says what is wrong with it, and what to do.
public struct TSDBError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// No block in the directory, or only a WAL: nothing this reader can take.
        case noBlocks
        /// A block this reader refuses by design: an index version it does not know, a downsampled Thanos block.
        case unsupported
        /// A block's files contradict themselves or their checksums: the block is damaged.
        case corrupt
        /// A file could not be opened or read.
        case io
        /// The process' limit on open files (`ulimit -n`) ran out: the blocks need more files open than it allows.
        case openFileLimit
        /// One series in the range needs more memory than the read may hold; read a narrower range.
        case overBudget
        /// Data that a block cannot hold as it is (samples out of time order, a histogram whose spans do not match its buckets).
        case unwritable
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

extension TSDBError {
    /// `open` or `opendir` of `path` failed with `code`: the process' open-file limit, said as such
    /// (the directory adds how many files its blocks need), or the system's reason.
    static func cannotOpen(_ path: String, _ code: Int32) -> TSDBError {
        if code == EMFILE || code == ENFILE {
            let soft = OpenFileLimit.current.map { " of \($0)" } ?? ""
            return TSDBError(.openFileLimit, "cannot open \(path): the limit\(soft) open files (ulimit -n) is reached")
        }
        return TSDBError(.io, "cannot open \(path): \(String(cString: strerror(code)))")
    }
}
