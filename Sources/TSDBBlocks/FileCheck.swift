import Glibc

/// What is at a path, without following a link at it and without opening it.
enum FileCheck {
    static func kind(_ path: String) -> mode_t? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return info.st_mode & S_IFMT
    }

    static func isRegularFile(_ path: String) -> Bool { kind(path) == S_IFREG }
    static func isDirectory(_ path: String) -> Bool { kind(path) == S_IFDIR }

    /// The names in a directory, without `.` and `..`, sorted; `TSDBError.cannotOpen` when it cannot be listed.
    static func listing(_ directory: String) throws -> [String] {
        guard let dir = opendir(directory) else { throw TSDBError.cannotOpen(directory, errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Total size of the regular files directly in `directory`.
    static func bytes(in directory: String) -> Int {
        ((try? listing(directory)) ?? []).reduce(0) { total, name in
            var info = stat()
            return lstat(directory + "/" + name, &info) == 0 && info.st_mode & S_IFMT == S_IFREG ? total + Int(info.st_size) : total
        }
    }
}
