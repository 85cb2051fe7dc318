/// A first-in first-out queue between pipeline stages that holds at most `capacity` elements:
/// `send` waits while it is full, so a fast producer cannot outrun memory.
///
/// A taken element is released at once (its slot is cleared): consumed batches used to stay
/// referenced until the buffer was compacted, up to 64 per queue, which an import's peak RSS showed.
actor BoundedQueue<Element: Sendable> {
    private var buffer: [Element?] = []
    private var head = 0
    private let capacity: Int
    private var finished = false
    private var waitingReceivers: [CheckedContinuation<Element?, Never>] = []
    private var waitingSenders: [CheckedContinuation<Void, Never>] = []

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    private var count: Int { buffer.count - head }

    func send(_ element: Element) async {
        while count >= capacity && !finished {
            await withCheckedContinuation { waitingSenders.append($0) }
        }
        if !waitingReceivers.isEmpty {
            waitingReceivers.removeFirst().resume(returning: element)
            return
        }
        buffer.append(element)
    }

    /// The next element, or nil once finished and drained.
    func next() async -> Element? {
        if count > 0 {
            let element = buffer[head]!
            buffer[head] = nil
            head += 1
            if head > 64 && head * 2 > buffer.count { buffer.removeFirst(head); head = 0 }
            if !waitingSenders.isEmpty { waitingSenders.removeFirst().resume() }
            return element
        }
        if finished { return nil }
        return await withCheckedContinuation { waitingReceivers.append($0) }
    }

    /// No more elements will come; waiting receivers get nil once the queue is drained.
    func finish() {
        finished = true
        for receiver in waitingReceivers { receiver.resume(returning: nil) }
        waitingReceivers = []
        for sender in waitingSenders { sender.resume() }
        waitingSenders = []
    }
}
