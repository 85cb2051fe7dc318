import Foundation
import Testing

/// The one binary: `promferry export|import|archive …` and the three tool names (symlinks to it) take
/// the same options and say the same things; each name keeps its own help text and error prefix.
@Suite struct OneBinaryTests {
    /// A help text from OPTIONS on, without the pointer to more help (which names the command).
    static func options(_ help: String) -> String {
        help.components(separatedBy: "OPTIONS:").dropFirst().joined(separator: "OPTIONS:")
            .split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("for detailed help") }.joined(separator: "\n")
    }

    @Test(arguments: [("prom-export", ["export"]), ("prom-import", ["import"]), ("prom-archive", ["archive"]),
                      ("prom-archive", ["archive", "cat"])] as [(String, [String])])
    func eachToolIsASubcommandWithTheSameOptions(_ tool: String, _ subcommand: [String]) async throws {
        let toolArguments = subcommand.count > 1 ? Array(subcommand.dropFirst()) : []
        let asTool = try await Executables.run(tool, toolArguments + ["--help"])
        let asSubcommand = try await Executables.run(try Executables.path("promferry"), subcommand + ["--help"])
        #expect(asTool.status == 0 && asSubcommand.status == 0)
        #expect(asTool.stdout.contains("USAGE: \(([tool] + toolArguments).joined(separator: " "))"), "\(asTool.stdout.prefix(400))")
        #expect(asSubcommand.stdout.contains("USAGE: promferry \(subcommand.joined(separator: " "))"), "\(asSubcommand.stdout.prefix(400))")
        #expect(!Self.options(asTool.stdout).isEmpty)
        #expect(Self.options(asTool.stdout) == Self.options(asSubcommand.stdout))
    }

    @Test func theToolNamesKeepTheirErrorPrefixAndVersion() async throws {
        for tool in ["prom-export", "prom-import"] {
            let outcome = try await Executables.run(tool, ["--no-such-flag"])
            #expect(outcome.status == 64)
            #expect(outcome.stderr.hasPrefix("\(tool): error: "), "\(outcome.stderr)")
            let version = try await Executables.run(tool, ["--version"])
            #expect(version.stdout.hasPrefix("\(tool) "), "\(version.stdout)")
        }
        let root = try await Executables.run(try Executables.path("promferry"), ["--help"])
        #expect(root.stdout.contains("export") && root.stdout.contains("import") && root.stdout.contains("archive"))
        #expect(root.stdout.contains("Exit status: 0 success; 1 failure; 2"))
        let unknown = try await Executables.run(try Executables.path("promferry"), ["frobnicate"])
        #expect(unknown.status == 64, "\(unknown.stderr)")
        #expect(unknown.stderr.hasPrefix("promferry: error: "), "\(unknown.stderr)")
    }
}
