import Foundation

/// Real captures from Prometheus 2.42 (see Fixtures/README.md).
enum Fixtures {
    static func bytes(_ name: String) throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw FixtureMissing(name: name)
        }
        return Array(try Data(contentsOf: url))
    }

    struct FixtureMissing: Error { let name: String }
}
