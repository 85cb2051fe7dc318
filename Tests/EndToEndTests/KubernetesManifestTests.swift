import Foundation
import PeerHarness
import Testing

/// `deploy/kubernetes`: every manifest passes `kubernetes-validate --strict`, and every command line in
/// them, for each index of its Job, parses with the real binaries: run against a closed port and an
/// empty volume, each fails at its first real step (no source, no archive), never on its arguments.
@Suite struct KubernetesManifestTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../deploy/kubernetes").standardized.path

    static func manifests() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }.sorted().map { directory + "/" + $0 }
    }

    @Test func manifestsAreValidAndTheirCommandLinesParse() async throws {
        let validator = try PeerBinary.find("kubernetes-validate")
        let files = try Self.manifests()
        #expect(files.count == 5, "\(files)")
        for file in files {
            let outcome = try await Executables.run(validator, ["--strict", "--quiet", file])
            #expect(outcome.status == 0, "\(file): \(outcome.stdout) \(outcome.stderr)")
        }
        // The validator does reject a misspelt field.
        let work = try TemporaryDirectory(prefix: "promferry-k8s")
        defer { work.remove() }
        let job = try String(contentsOfFile: Self.directory + "/export-job.yaml", encoding: .utf8)
        try job.replacingOccurrences(of: "completionMode:", with: "completionModes:").write(toFile: work.path + "/bad.yaml", atomically: true, encoding: .utf8)
        #expect(try await Executables.run(validator, ["--strict", "--quiet", work.path + "/bad.yaml"]).status != 0)

        // Every container of every Job, as the Job controller would start it for each index.
        let script = "import json, sys, yaml\nprint(json.dumps([d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f))]))"
        let parsed = try await Executables.run(try PeerBinary.find("python3"), ["-c", script] + files)
        #expect(parsed.status == 0, "\(parsed.stderr)")
        let documents = try #require(try JSONSerialization.jsonObject(with: Data(parsed.stdout.utf8)) as? [[String: Any]])
        let port = try FreePort.allocate()
        var runs = 0
        for document in documents where document["kind"] as? String == "Job" {
            let spec = try #require(document["spec"] as? [String: Any])
            let completions = spec["completions"] as? Int ?? 1
            let pod = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
            for container in try #require(pod["containers"] as? [[String: Any]]) {
                let command = try #require(container["command"] as? [String])
                let env = Dictionary(uniqueKeysWithValues: (container["env"] as? [[String: Any]] ?? []).map { ($0["name"] as! String, "not-a-secret") })
                for index in 0..<completions {
                    let arguments = (command.dropFirst() + (container["args"] as? [String] ?? [])).map { argument in
                        argument.replacingOccurrences(of: "$(JOB_COMPLETION_INDEX)", with: "\(index)")
                            .replacingOccurrences(of: "/archive", with: work.path + "/archive")
                            .replacingOccurrences(of: #"http://[^/]+"#, with: "http://127.0.0.1:\(port)", options: .regularExpression)
                    }
                    let outcome = try await Executables.run(command[0], arguments, environment: env)
                    let expected = command[0] == "prom-export" ? "connection refused" : "manifest.json"
                    #expect(outcome.status == 1 && outcome.stderr.contains(expected),
                            "\(command[0]) \(arguments.joined(separator: " ")): exit \(outcome.status): \(outcome.stderr)")
                    runs += 1
                }
            }
        }
        #expect(runs == 9, "4 exports, 1 merge and 4 imports; ran \(runs)")
    }
}
