import ArchiveFormat
import BlockCompression
import RemoteStorageClient

/// What `--version` prints: the tool, the archive formats it reads and writes, the codecs linked in.
public enum VersionText {
    public static func make(tool: String) -> String {
        """
        \(tool) \(PromferryVersion.current)
        archive formats: manifest v\(Manifest.highestSupportedVersion), segment v\(SegmentLayout.formatVersion) (reads v1...v\(SegmentLayout.formatVersion), writes v\(SegmentLayout.formatVersion))
        libzstd \(Zstd.libraryVersion), libsnappy \(Snappy.libraryVersion)
        """
    }
}
