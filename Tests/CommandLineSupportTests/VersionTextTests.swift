import CommandLineSupport
import Testing
import Foundation

@Suite struct VersionTextTests {
    /// `--version` is what an operator on the far side of an air gap checks first: tool, formats, codecs.
    @Test func namesToolFormatsAndLinkedCodecs() {
        let lines = VersionText.make(tool: "prom-import").split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("prom-import "))
        #expect(lines[1] == "archive formats: manifest v1, segment v4 (reads v1...v4, writes v4)")
        // Versions as the libraries report them: digits and dots, e.g. "libzstd 1.5.4, libsnappy 1.1.9".
        let codecs = lines[2].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(codecs.count == 2)
        for (codec, name) in zip(codecs, ["libzstd", "libsnappy"]) {
            let parts = codec.split(separator: " ")
            #expect(parts.count == 2 && parts[0] == name)
            #expect(parts.last.map { $0.split(separator: ".").count == 3 && $0.allSatisfy { $0.isNumber || $0 == "." } } == true,
                    "\(codec)")
        }
    }
}
