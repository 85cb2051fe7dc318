import Synchronization

/// Running totals of an import, shared by the producer and the senders.
final class ImportCounters: Sendable {
    struct Values: Sendable {
        var samplesRead = 0
        var samplesSelected = 0
        var samplesSent = 0
        var samplesAlreadyDelivered = 0
        var batchesSent = 0
        var requests = 0
        var retries = 0
        var splits = 0
        var samplesRejected = 0
        /// Native histograms of selected series left out by `--histograms drop`.
        var histogramsDropped = 0
        /// Native histograms sent as classic series by `--histograms classic`.
        var histogramsConverted = 0
    }

    private let values = Mutex(Values())

    func update(_ body: (inout Values) -> Void) {
        values.withLock { body(&$0) }
    }

    var snapshot: Values { values.withLock { $0 } }
}
