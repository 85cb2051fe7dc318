import FuzzTargets
#if canImport(Glibc)
import Glibc
#endif
import Foundation

// Built with `-sanitize=fuzzer -DFUZZING` (scripts/fuzz) this is a libFuzzer harness for the target named
// by PROMFERRY_FUZZ_TARGET; built normally it replays files through a target: `promferry-fuzz TARGET FILE…`.

#if FUZZING
// libFuzzer's no-main runtime drives the target (scripts/fuzz links it): SwiftPM reserves `main` for
// this module's entry point, so the entry point hands control to `LLVMFuzzerRunDriver`.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

nonisolated(unsafe) private var selected = FuzzTarget.segment

@main
struct FuzzDriver {
    static func main() {
        let name = ProcessInfo.processInfo.environment["PROMFERRY_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("set PROMFERRY_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
            exit(2)
        }
        selected = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            selected.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
            return 0
        })
    }
}
#else
@main
struct FuzzReplay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        // `promferry-fuzz pack-archive DIR OUT` writes an archive's image (ArchiveImage), a seed for the archive target;
        // `pack-block BLOCK-DIR OUT` a block's, for the tsdb-block target.
        if ["pack-archive", "pack-block"].contains(arguments.first), arguments.count == 3 {
            do {
                let names = arguments.first == "pack-block" ? ArchiveImage.blockNames : ArchiveImage.names
                let image = try ArchiveImage.pack(arguments[arguments.startIndex + 1], names: names)
                try Data(image).write(to: URL(fileURLWithPath: arguments[arguments.startIndex + 2]))
                exit(0)
            } catch {
                print("cannot pack \(arguments[arguments.startIndex + 1]): \(error)")
                exit(1)
            }
        }
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: promferry-fuzz TARGET FILE…   (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))\n"
                + "       promferry-fuzz pack-archive ARCHIVE-DIR OUT   (a seed for the archive target)\n"
                + "       promferry-fuzz pack-block BLOCK-DIR OUT       (a seed for the tsdb-block target)")
            exit(64)
        }
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { print("cannot read \(path)"); exit(1) }
            target.run(Array(data))
        }
        print("replayed \(arguments.count - 1) inputs through \(name) without a crash")
    }
}
#endif
