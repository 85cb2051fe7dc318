import Foundation
import Testing

/// The help texts are a contract with users and their scripts: each is compared with its snapshot in
/// `HelpSnapshots/`. After a deliberate change, regenerate them with
/// `PROMFERRY_UPDATE_SNAPSHOTS=1 swift test --skip-build --filter HelpSnapshotTests` and review the diff.
@Suite struct HelpSnapshotTests {
    static let commands: [[String]] = [
        ["promferry"], ["promferry", "export"], ["promferry", "import"], ["promferry", "archive"],
        ["prom-export"], ["prom-import"], ["prom-archive"],
        ["prom-archive", "verify"], ["prom-archive", "inspect"], ["prom-archive", "cat"], ["prom-archive", "split"],
        ["prom-archive", "merge"], ["prom-archive", "compact"], ["prom-archive", "blocks"],
    ]
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("HelpSnapshots")

    @Test(arguments: commands)
    func helpTextMatchesItsSnapshot(_ command: [String]) async throws {
        let outcome = try await Executables.run(command[0] == "promferry" ? try Executables.path("promferry") : command[0],
                                                Array(command.dropFirst()) + ["--help"], environment: ["COLUMNS": "100"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let file = Self.directory.appendingPathComponent(command.joined(separator: "-") + ".txt")
        if ProcessInfo.processInfo.environment["PROMFERRY_UPDATE_SNAPSHOTS"] == "1" {
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try Data(outcome.stdout.utf8).write(to: file)
            return
        }
        let snapshot = try String(contentsOf: file, encoding: .utf8)
        let (got, want) = (outcome.stdout.split(separator: "\n", omittingEmptySubsequences: false),
                           snapshot.split(separator: "\n", omittingEmptySubsequences: false))
        let firstDifference = (0..<min(got.count, want.count)).first { got[$0] != want[$0] } ?? min(got.count, want.count)
        #expect(outcome.stdout == snapshot, """
            \(command.joined(separator: " ")) --help differs from \(file.lastPathComponent) at line \(firstDifference + 1):
              now:      \(firstDifference < got.count ? got[firstDifference] : "<end>")
              snapshot: \(firstDifference < want.count ? want[firstDifference] : "<end>")
            If the change is meant, regenerate the snapshots (see HelpSnapshotTests) and review the diff.
            """)
    }

    /// Every subcommand the one binary offers has a snapshot, so a new one cannot slip in without a contract.
    @Test func everySubcommandHasASnapshot() async throws {
        let help = try await Executables.run("prom-archive", ["--help"]).stdout
        // Subcommand names are indented by two spaces; their wrapped descriptions by more.
        let listed = help.components(separatedBy: "SUBCOMMANDS:").last!.split(separator: "\n")
            .filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }
            .compactMap { $0.split(separator: " ").first.map(String.init) }.filter { $0 != "See" }
        #expect(Set(listed) == Set(Self.commands.filter { $0[0] == "prom-archive" && $0.count == 2 }.map { $0[1] }), "\(listed)")
    }
}
