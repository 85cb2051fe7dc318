public import ArgumentParser
import ArchiveStore
import FoundationEssentials

/// `--archive`/`-a`: the archive's location, spelled the same in every command.
///
/// Earlier releases spelled it `prom-export --output/-o` and `prom-archive <command> ARCHIVE`; those
/// spellings still work for this release as hidden aliases (absent from `--help`), and each command
/// resolves its alias here, so that giving both, or neither, reads the same everywhere.
public enum ArchiveFlag {
    public static let help = "The archive: a directory, or s3://BUCKET/PREFIX on object storage."

    /// The archive path from `--archive` or the command's former spelling `aliasName`.
    public static func resolve(_ flag: String?, alias: String?, aliasName: String) throws -> String {
        switch (flag, alias) {
        case (let path?, nil), (nil, let path?):
            guard !path.isEmpty else { throw ValidationError("--archive: give a directory path, not an empty string") }
            try checkLocation(path)
            return path
        case (let path?, let other?):
            throw ValidationError("--archive \(path) and \(aliasName) \(other) both name the archive; give it once, as --archive")
        case (nil, nil):
            throw ValidationError("give the archive directory with --archive DIR")
        }
    }
}

extension ArchiveFlag {
    /// Refuses a URL other than a well-formed `s3://BUCKET/PREFIX` at parse time (a directory is
    /// checked when it is opened).
    public static func checkLocation(_ path: String) throws {
        if S3Location.isS3(path) {
            do {
                _ = try S3Location.parse(path)
            } catch let error as ArchiveStoreError {
                throw ValidationError(error.message)
            }
        } else if let scheme = path.firstRange(of: "://") {
            throw ValidationError("\(path): \(path[..<scheme.lowerBound]):// is not an archive location; give a directory "
                + "or s3://BUCKET/PREFIX")
        }
    }
}

/// The archive of a `prom-archive` command: `--archive DIR`, or as the former positional argument.
public struct ArchiveArgument: ParsableArguments {
    @Option(name: [.customShort("a"), .customLong("archive")], help: ArgumentHelp(ArchiveFlag.help, valueName: "archive"))
    var flag: String?

    /// The former spelling of --archive (a positional argument), kept for one release.
    @Argument(help: .hidden)
    var positional: String?

    public init() {}

    public func validate() throws { _ = try resolved() }

    /// The archive directory, from either spelling (`validate()` has refused both, neither and an empty one).
    public var path: String { (try? resolved()) ?? "" }

    private func resolved() throws -> String { try ArchiveFlag.resolve(flag, alias: positional, aliasName: "the argument") }
}
