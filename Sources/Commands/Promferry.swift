public import ArgumentParser
import CommandLineSupport
import FoundationEssentials

/// `promferry`: the one binary. Started under the name of one of the tools (the bundle and the build
/// directory hold `prom-export`, `prom-import` and `prom-archive` as symlinks to it), it is that tool,
/// with its own help text and error prefix; started as `promferry`, it offers them as subcommands:
/// `promferry export`, `promferry import`, `promferry archive verify|inspect|cat|split|merge`.
public struct Promferry: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "promferry",
        abstract: "Move Prometheus data between storage systems through files: export, archive, import.",
        discussion: """
        The same commands are installed as prom-export, prom-import and prom-archive (symlinks to this \
        binary), which behave exactly as promferry export, promferry import and promferry archive.

        Exit status: 0 success; 1 failure; 2 import finished but the target refused some samples; 3 a check \
        found a difference (import --verify, archive verify); 64 a bad command line; 130 interrupted.
        """,
        version: VersionText.make(tool: "promferry"),
        subcommands: [ExportSubcommand.self, ImportSubcommand.self, ArchiveSubcommand.self])

    /// Runs the tool `argv0` names: one of the three tools, or `promferry` with a subcommand.
    public static func main(invokedAs argv0: String) async {
        switch URL(fileURLWithPath: argv0).lastPathComponent {
        case "prom-export": await PromExport.main()
        case "prom-import": await PromImport.main()
        case "prom-archive": await PromArchive.main()
        default: await runWithOneLineErrors(tool: "promferry")
        }
    }
}

/// `promferry export`: `prom-export` under the one binary.
struct ExportSubcommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: PromExport.configuration.abstract, discussion: PromExport.configuration.discussion,
        version: PromExport.configuration.version)

    @OptionGroup var command: PromExport

    func run() async throws { try await command.run() }
}

/// `promferry import`: `prom-import` under the one binary.
struct ImportSubcommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: PromImport.configuration.abstract, discussion: PromImport.configuration.discussion,
        version: PromImport.configuration.version)

    @OptionGroup var command: PromImport

    func run() async throws { try await command.run() }
}

/// `promferry archive …`: `prom-archive` under the one binary, with the same subcommands.
struct ArchiveSubcommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive", abstract: PromArchive.configuration.abstract, version: PromArchive.configuration.version,
        subcommands: PromArchive.configuration.subcommands)
}
