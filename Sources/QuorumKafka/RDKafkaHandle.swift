internal import CRdKafka
import Logging

/// Owns one `rd_kafka_t`.
///
/// `@unchecked Sendable`: librdkafka handles are thread-safe for every call Quorum makes on them;
/// the owning client guarantees `rd_kafka_destroy` runs once, after all other use has ended.
final class RDKafkaHandle: @unchecked Sendable {
    /// The C handle.
    let pointer: OpaquePointer

    private init(pointer: OpaquePointer) { self.pointer = pointer }

    /// Creates a client of `type` from `properties`, letting `customize` install callbacks on the
    /// configuration before librdkafka takes it over.
    static func make(
        _ type: rd_kafka_type_t, properties: [String: String],
        customize: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) -> RDKafkaHandle {
        try Librdkafka.check()
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .invalidConfiguration, message: "rd_kafka_conf_new failed")
        }
        var errstr = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(
                    code: .invalidConfiguration,
                    message: "Kafka property \(key)=\(value) was rejected: \(decodeCString(errstr))")
            }
        }
        rd_kafka_conf_set_log_cb(conf, librdkafkaLog)
        customize(conf)
        // On success rd_kafka_new takes ownership of conf; on failure it is still ours.
        guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(
                code: .invalidConfiguration, message: "cannot create Kafka client: \(decodeCString(errstr))")
        }
        return RDKafkaHandle(pointer: rk)
    }

    /// Destroys the handle. Call exactly once.
    func destroy() { rd_kafka_destroy(pointer) }

    /// Destroys a consumer's handle without leaving its group or committing anything. Call exactly once.
    func destroyWithoutLeaving() { rd_kafka_destroy_flags(pointer, Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE)) }
}

/// Reads a NUL-terminated C string out of a `[CChar]` buffer.
func decodeCString(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}

/// librdkafka's own log lines, through swift-log (label `librdkafka`) instead of its default printing
/// to standard error; syslog levels map onto swift-log's.
private let librdkafkaLog: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    client, level, facility, text in
    let swiftLevel: Logger.Level =
        switch level {
        case ...2: .critical
        case 3: .error
        case 4: .warning
        case 5: .notice
        case 6: .info
        default: .debug
        }
    var logger = Logger(label: "librdkafka")
    if let client { logger[metadataKey: "client"] = "\(String(cString: rd_kafka_name(client)))" }
    if let facility { logger[metadataKey: "facility"] = "\(String(cString: facility))" }
    logger.log(level: swiftLevel, "\(text.map { String(cString: $0) } ?? "")")
}
