internal import CRdKafka

/// An error from Kafka: librdkafka's error code plus a message a person can act on.
///
/// Callers match on ``code`` (for example `error.code == .unknownTopicOrPartition`) without
/// importing librdkafka.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    /// librdkafka's error code (`rd_kafka_resp_err_t`), or one of Quorum's own client-side codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The raw `rd_kafka_resp_err_t` value; Quorum's own codes are below -10000.
        public let rawValue: Int32

        /// Wraps a raw librdkafka error code.
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// librdkafka's name for the code, such as `_TIMED_OUT` or `UNKNOWN_TOPIC_OR_PART`.
        public var description: String {
            if let own = Code.ownNames[rawValue] { return own }
            return String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue)))
        }

        /// A local time-out expired.
        public static let timedOut = Code(rawValue: RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue)
        /// A message was not delivered within `message.timeout.ms` (the broker was unreachable).
        public static let messageTimedOut = Code(rawValue: RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue)
        /// A broker connection broke.
        public static let transport = Code(rawValue: RD_KAFKA_RESP_ERR__TRANSPORT.rawValue)
        /// The local producer queue is full.
        public static let queueFull = Code(rawValue: RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue)
        /// No broker could be reached.
        public static let allBrokersDown = Code(rawValue: RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue)
        /// The topic or partition does not exist.
        public static let unknownTopicOrPartition = Code(rawValue: RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue)
        /// The client's metadata has no such topic (it was deleted, or a restarted in-memory broker lost it).
        public static let unknownTopic = Code(rawValue: RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC.rawValue)
        /// The client's metadata has no such partition (its topic is gone, or was created with fewer).
        public static let unknownPartition = Code(rawValue: RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION.rawValue)
        /// The topic already exists.
        public static let topicAlreadyExists = Code(rawValue: RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS.rawValue)
        /// A configuration property was not accepted.
        public static let invalidConfiguration = Code(rawValue: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue)
        /// librdkafka raised a fatal error; the client must be recreated.
        public static let fatal = Code(rawValue: RD_KAFKA_RESP_ERR__FATAL.rawValue)
        /// The group coordinator does not know this member any more (its session expired).
        public static let unknownMemberID = Code(rawValue: RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID.rawValue)
        /// The group moved to a new generation without this member.
        public static let illegalGeneration = Code(rawValue: RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION.rawValue)
        /// The group is rebalancing.
        public static let rebalanceInProgress = Code(rawValue: RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS.rawValue)
        /// librdkafka noticed that this member's partitions were taken away.
        public static let assignmentLost = Code(rawValue: RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST.rawValue)
        /// The client was used after it was closed.
        public static let closed = Code(rawValue: -10_001)
        /// The librdkafka loaded at run time is too old for Quorum.
        public static let unsupportedLibrary = Code(rawValue: -10_002)

        private static let ownNames: [Int32: String] = [-10_001: "CLIENT_CLOSED", -10_002: "UNSUPPORTED_LIBRDKAFKA"]
    }

    /// What went wrong, as a code.
    public let code: Code
    /// What went wrong and, where known, what to do about it.
    public let message: String

    /// Creates an error with a code and a message.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// An error for a librdkafka code, with librdkafka's own text appended to `context`.
    init(_ err: rd_kafka_resp_err_t, _ context: String) {
        self.code = Code(rawValue: err.rawValue)
        self.message = "\(context): \(String(cString: rd_kafka_err2str(err)))"
    }

    /// Takes ownership of an `rd_kafka_error_t` and destroys it.
    init(consuming error: OpaquePointer, _ context: String) {
        self.code = Code(rawValue: rd_kafka_error_code(error).rawValue)
        self.message = "\(context): \(String(cString: rd_kafka_error_string(error)))"
        rd_kafka_error_destroy(error)
    }

    /// Throws when `err` is not `RD_KAFKA_RESP_ERR_NO_ERROR`: the one place result codes become errors.
    static func check(_ err: rd_kafka_resp_err_t, _ context: @autoclosure () -> String) throws(KafkaError) {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context()) }
    }

    /// Whether a commit failed because the group went on without this member (its session expired,
    /// for example while the machine was starved of CPU, and the group rebalanced). Nothing is lost:
    /// whoever owns the partitions now is given the uncommitted messages again, and this member
    /// rejoins on its next poll. A consumer whose processing tolerates redelivery can carry on.
    public var isLostCommit: Bool {
        [.unknownMemberID, .illegalGeneration, .rebalanceInProgress, .assignmentLost].contains(code)
    }

    /// Whether the same call may well succeed later: a broker that could not be reached in time, a
    /// broken connection, a full local queue, or a topic that a restarted in-memory broker has not got
    /// back yet (Quorum's round manager creates it again).
    public var isTransient: Bool {
        [
            .timedOut, .messageTimedOut, .transport, .allBrokersDown, .queueFull, .unknownTopicOrPartition,
            .unknownTopic, .unknownPartition,
        ].contains(code)
    }

    public var description: String { "Kafka error \(code): \(message)" }
}
