internal import CRdKafka

/// Where a message landed, from its delivery report.
public struct KafkaDeliveryReport: Sendable, Hashable {
    /// The topic written to.
    public var topic: String
    /// The partition the message was stored in.
    public var partition: Int32
    /// Its offset in that partition.
    public var offset: Int64
}

/// An idempotent Kafka producer (`enable.idempotence=true`, hence `acks=all`) whose sends complete
/// when the broker acknowledges the message.
///
/// Delivery reports are served by a dedicated poll thread; `send` suspends until its report
/// arrives. Call ``close(timeout:)`` before dropping the producer so queued messages are delivered.
public final class KafkaProducer: Sendable {
    private let handle: RDKafkaHandle
    private let pollThread: PollThread
    private let executor: BlockingExecutor
    private let closed = AtomicFlag(false)

    /// Properties Quorum relies on; ``KafkaConfiguration/properties`` may override them.
    static let defaults: [String: String] = [
        "enable.idempotence": "true",
        "acks": "all",
        "linger.ms": "5",
        "message.timeout.ms": "60000",
        // Quorum creates its topics with the spec's partitions and replication; a producer that
        // created a missing topic (a restarted in-memory broker's) would use the broker's defaults.
        "allow.auto.create.topics": "false",
    ]

    /// Creates a producer and starts its poll thread.
    public init(configuration: KafkaConfiguration) throws(KafkaError) {
        let handle = try RDKafkaHandle.make(
            RD_KAFKA_PRODUCER, properties: configuration.resolved(defaults: Self.defaults)
        ) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf, deliveryReportCallback)
        }
        self.handle = handle
        self.executor = BlockingExecutor(label: "quorum.kafka.producer")
        self.pollThread = PollThread(name: "quorum.kafka.producer.poll") { _ = rd_kafka_poll(handle.pointer, 100) }
    }

    deinit { shutDown(flushMilliseconds: 0) }

    /// Sends one message and returns its delivery report once the broker has acknowledged it.
    ///
    /// - Parameters:
    ///   - topic: the topic to write to.
    ///   - key: the message key; Kafka's default partitioner keeps one key's messages on one partition.
    ///   - value: the payload.
    ///   - partition: a fixed partition, or `nil` to let the partitioner choose from the key.
    /// - Throws: ``KafkaError`` if the message cannot be queued or the broker rejects it.
    @discardableResult
    public func send(
        topic: String, key: [UInt8]?, value: [UInt8], partition: Int32? = nil
    ) async throws(KafkaError) -> KafkaDeliveryReport {
        let result: Result<KafkaDeliveryReport, KafkaError> = await withCheckedContinuation { continuation in
            let pending = PendingDelivery(topic: topic, continuation: continuation)
            enqueue(topic: topic, key: key, value: value, partition: partition, pending: pending)
        }
        return try result.get()
    }

    /// Waits until every queued message has been delivered (or failed), at most `timeoutMilliseconds`.
    public func flush(timeoutMilliseconds: Int32 = 30_000) async throws(KafkaError) {
        let handle = self.handle
        try await executor.run { () throws(KafkaError) in
            try KafkaError.check(rd_kafka_flush(handle.pointer, timeoutMilliseconds), "flush")
        }
    }

    /// Delivers what is queued (waiting at most `timeoutMilliseconds`), fails what is left, and
    /// releases the client. Idempotent.
    public func close(timeoutMilliseconds: Int32 = 30_000) async {
        let handle = self.handle
        await executor.runAsync {
            _ = rd_kafka_flush(handle.pointer, timeoutMilliseconds)
        }
        shutDown(flushMilliseconds: 0)
    }

    /// Stops polling, fails any undelivered message, and destroys the handle (once).
    private func shutDown(flushMilliseconds: Int32) {
        guard !closed.exchange(true) else { return }
        pollThread.stop()
        _ = rd_kafka_purge(handle.pointer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
        _ = rd_kafka_poll(handle.pointer, flushMilliseconds)  // serves the purged messages' reports
        handle.destroy()
    }

    /// Queues a message. When librdkafka's local queue is full, the wait for room happens on the
    /// producer's own thread, never on the caller's (Swift's cooperative pool).
    private func enqueue(
        topic: String, key: [UInt8]?, value: [UInt8], partition: Int32?, pending: PendingDelivery
    ) {
        guard !closed.value else {
            pending.fail(KafkaError(code: .closed, message: "the producer is closed"))
            return
        }
        let opaque = Unmanaged.passRetained(pending).toOpaque()
        let err = produce(topic: topic, key: key, value: value, partition: partition, opaque: opaque)
        if err == RD_KAFKA_RESP_ERR_NO_ERROR { return }
        if err == RD_KAFKA_RESP_ERR__QUEUE_FULL {
            let address = UInt(bitPattern: opaque)
            executor.submit { [self] in
                retryWhileFull(
                    topic: topic, key: key, value: value, partition: partition,
                    opaque: UnsafeMutableRawPointer(bitPattern: address)!, pending: pending)
            }
            return
        }
        Unmanaged<PendingDelivery>.fromOpaque(opaque).release()
        pending.fail(KafkaError(err, "cannot queue a message for topic \(topic)"))
    }

    /// Back-pressure: retries until the poll thread has drained enough delivery reports.
    private func retryWhileFull(
        topic: String, key: [UInt8]?, value: [UInt8], partition: Int32?, opaque: UnsafeMutableRawPointer,
        pending: PendingDelivery
    ) {
        while true {
            let err = produce(topic: topic, key: key, value: value, partition: partition, opaque: opaque)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { return }
            if err == RD_KAFKA_RESP_ERR__QUEUE_FULL, !closed.value {
                _ = rd_kafka_poll(handle.pointer, 10)
                continue
            }
            Unmanaged<PendingDelivery>.fromOpaque(opaque).release()
            pending.fail(KafkaError(err, "cannot queue a message for topic \(topic)"))
            return
        }
    }

    private func produce(
        topic: String, key: [UInt8]?, value: [UInt8], partition: Int32?, opaque: UnsafeMutableRawPointer
    ) -> rd_kafka_resp_err_t {
        topic.withCString { topicName in
            value.withUnsafeBytes { payload in
                withOptionalBytes(key) { keyBytes in
                    var fields = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 6)
                    fields[0].vtype = RD_KAFKA_VTYPE_TOPIC
                    fields[0].u.cstr = topicName
                    fields[1].vtype = RD_KAFKA_VTYPE_VALUE
                    fields[1].u.mem.ptr = UnsafeMutableRawPointer(mutating: payload.baseAddress)
                    fields[1].u.mem.size = payload.count
                    fields[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    fields[2].u.i = RD_KAFKA_MSG_F_COPY
                    fields[3].vtype = RD_KAFKA_VTYPE_OPAQUE
                    fields[3].u.ptr = opaque
                    var count = 4
                    if let keyBytes {
                        fields[count].vtype = RD_KAFKA_VTYPE_KEY
                        fields[count].u.mem.ptr = UnsafeMutableRawPointer(mutating: keyBytes.baseAddress)
                        fields[count].u.mem.size = keyBytes.count
                        count += 1
                    }
                    if let partition {
                        fields[count].vtype = RD_KAFKA_VTYPE_PARTITION
                        fields[count].u.i32 = partition
                        count += 1
                    }
                    guard let error = rd_kafka_produceva(handle.pointer, fields, count) else {
                        return RD_KAFKA_RESP_ERR_NO_ERROR
                    }
                    let code = rd_kafka_error_code(error)
                    rd_kafka_error_destroy(error)
                    return code
                }
            }
        }
    }
}

/// Calls `body` with the bytes of `bytes`, or with `nil`.
private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}

/// The continuation of one `send`, carried through librdkafka as the message's opaque pointer.
private final class PendingDelivery: Sendable {
    let topic: String
    let continuation: CheckedContinuation<Result<KafkaDeliveryReport, KafkaError>, Never>

    init(topic: String, continuation: CheckedContinuation<Result<KafkaDeliveryReport, KafkaError>, Never>) {
        self.topic = topic
        self.continuation = continuation
    }

    func fail(_ error: KafkaError) { continuation.resume(returning: .failure(error)) }
}

/// librdkafka's delivery-report callback: resumes the `send` that queued the message.
private let deliveryReportCallback:
    @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
        _, message, _ in
        guard let message, let opaque = message.pointee._private else { return }
        let pending = Unmanaged<PendingDelivery>.fromOpaque(opaque).takeRetainedValue()
        let err = message.pointee.err
        if err == RD_KAFKA_RESP_ERR_NO_ERROR {
            pending.continuation.resume(
                returning: .success(
                    KafkaDeliveryReport(
                        topic: pending.topic, partition: message.pointee.partition, offset: message.pointee.offset)))
        } else {
            pending.fail(KafkaError(err, "delivery to topic \(pending.topic) failed"))
        }
    }
