import PrometheusWire
import RemoteStorageClient

/// Everything one export run needs, already validated by the command line layer.
public struct ExportConfiguration: Sendable {
    public var source: EndpointConfiguration
    /// Each selector is read separately; a series matched by several is exported once.
    public var selectors: [SeriesSelector]
    /// Half-open range.
    public var startMs: Int64
    public var endMs: Int64
    /// The arguments as typed, recorded so that relative ranges resume (see `Manifest.Selection`).
    public var startArgument: String
    public var endArgument: String
    public var slabWidthMs: Int64
    public var segmentTargetBytes: Int
    public var compressionLevel: Int
    public var dropLabels: [String]
    public var archivePath: String
    public var retry: RetryPolicy
    public var responseTypes: [ResponseType]

    public init(source: EndpointConfiguration, selectors: [SeriesSelector], startMs: Int64, endMs: Int64,
                startArgument: String, endArgument: String, slabWidthMs: Int64 = 3_600_000,
                segmentTargetBytes: Int = 64 << 20, compressionLevel: Int = 9, dropLabels: [String] = [],
                archivePath: String, retry: RetryPolicy = RetryPolicy(),
                responseTypes: [ResponseType] = [.streamedXORChunks, .samples]) {
        self.source = source
        self.selectors = selectors
        self.startMs = startMs
        self.endMs = endMs
        self.startArgument = startArgument
        self.endArgument = endArgument
        self.slabWidthMs = slabWidthMs
        self.segmentTargetBytes = segmentTargetBytes
        self.compressionLevel = compressionLevel
        self.dropLabels = dropLabels
        self.archivePath = archivePath
        self.retry = retry
        self.responseTypes = responseTypes
    }
}
