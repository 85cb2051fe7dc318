/// Lets the reading side wait until every batch it queued has been delivered (or the senders
/// stopped): the senders drain their queues independently, so without it one sender can deliver a
/// series' later window while another still holds an earlier window of another series.
actor DeliveryBarrier {
    private var queued = 0
    private var delivered = 0
    private var released = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// A batch was put on a sender's queue.
    func queuedOne() { queued += 1 }

    /// A sender finished with a batch (delivered and journalled, or counted in a dry run).
    func deliveredOne() {
        delivered += 1
        if delivered >= queued { resumeAll() }
    }

    /// Returns once every batch queued so far has been delivered, or at once after `release()`.
    func waitUntilDelivered() async {
        guard !released, delivered < queued else { return }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// The senders stopped (one failed): nobody waits for batches that will not be delivered.
    func release() {
        released = true
        resumeAll()
    }

    private func resumeAll() {
        let all = waiting
        waiting = []
        for waiter in all { waiter.resume() }
    }
}
