import Foundation
public import FuzzTargets
public import Testing

/// Every seed and every input a fuzzer ever found (Fuzz/corpus/TARGET, Fuzz/regressions/TARGET-*) goes
/// through its decoder again on every test run: throwing is fine, trapping fails the whole run.
@Suite struct FuzzRegressionTests {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz").standardized

    @Test(arguments: FuzzTarget.allCases)
    func corpusReplaysWithoutACrash(_ target: FuzzTarget) throws {
        let corpus = Self.fuzz.appendingPathComponent("corpus/\(target.rawValue)")
        let seeds = try FileManager.default.contentsOfDirectory(atPath: corpus.path).map { corpus.appendingPathComponent($0) }
        let regressionsDirectory = Self.fuzz.appendingPathComponent("regressions")
        let regressions = try FileManager.default.contentsOfDirectory(atPath: regressionsDirectory.path)
            .filter { $0.hasPrefix(target.rawValue + "-") }.map { regressionsDirectory.appendingPathComponent($0) }
        #expect(!seeds.isEmpty, "no seed corpus for \(target.rawValue)")
        for file in seeds + regressions {
            let data = Array(try Data(contentsOf: file))
            target.run(data)
            // Truncations and single-byte flips of every seed, as the cheapest fuzzer there is.
            for length in stride(from: 0, to: data.count, by: max(1, data.count / 64)) { target.run(Array(data.prefix(length))) }
            for index in stride(from: 0, to: data.count, by: max(1, data.count / 256)) {
                var flipped = data
                flipped[index] ^= 0x5a
                target.run(flipped)
            }
        }
    }
}

extension FuzzTarget: CustomTestStringConvertible {
    public var testDescription: String { rawValue }
}
