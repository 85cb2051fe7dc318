public import NIOCore
public import NIOHTTP1

extension HTTPTransport {
    /// A response whose body arrives as it is read: the head is here, the body is a sequence of
    /// buffers with back-pressure (the connection is not read while the consumer holds back).
    ///
    /// Reading the body to its end returns the connection to the pool; leaving it unread, or stopping
    /// early, closes the connection.
    public struct Response: Sendable {
        public let status: HTTPResponseStatus
        public let headers: HTTPHeaders
        public let body: Body
    }

    /// A response read whole (up to a limit given with the request).
    public struct CollectedResponse: Sendable {
        public let status: HTTPResponseStatus
        public let headers: HTTPHeaders
        public let body: ByteBuffer
    }

    /// The body of a streamed response.
    public struct Body: AsyncSequence, Sendable {
        public typealias Element = ByteBuffer
        typealias Producer = NIOThrowingAsyncSequenceProducer<ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark,
                                                              BodyDemand>
        let producer: Producer

        public struct AsyncIterator: AsyncIteratorProtocol {
            var inner: Producer.AsyncIterator
            public mutating func next() async throws -> ByteBuffer? { try await inner.next() }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(inner: producer.makeAsyncIterator()) }

        /// The whole body, or `HTTPTransportError.bodyTooLarge` as soon as it passes `maxBytes`.
        public func collect(upTo maxBytes: Int) async throws -> ByteBuffer {
            var collected = ByteBuffer()
            for try await var buffer in self {
                guard collected.readableBytes + buffer.readableBytes <= maxBytes else {
                    throw HTTPTransportError(.bodyTooLarge, "more than \(maxBytes) bytes")
                }
                collected.writeBuffer(&buffer)
            }
            return collected
        }
    }
}

/// Tells the connection when the consumer of a body wants more, and when it has gone.
struct BodyDemand: NIOAsyncSequenceProducerDelegate {
    let wantsMore: @Sendable () -> Void
    let gone: @Sendable () -> Void
    func produceMore() { wantsMore() }
    func didTerminate() { gone() }
}
