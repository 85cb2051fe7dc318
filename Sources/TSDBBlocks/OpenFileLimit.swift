import Glibc

/// The process' limit on open files. A TSDB directory keeps every block's index and chunk files
/// open, and the usual soft limit (1024) is far below the hard one, which an unprivileged process
/// may raise its soft limit to; Prometheus and every Go program do so at start for the same reason.
enum OpenFileLimit {
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)

    /// The soft limit in force, if it can be read.
    static var current: UInt? {
        var limit = rlimit()
        return getrlimit(resource, &limit) == 0 ? UInt(limit.rlim_cur) : nil
    }

    /// Raises the soft limit to the hard limit; if that fails the limit stays as it was, and running
    /// out is reported by the open that fails (`TSDBError.openFileLimit`).
    static func raiseToHardLimit() {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(resource, &limit)
    }
}
