import QuorumKafka
import QuorumPipeline
import QuorumStore
import Testing

/// Hostile or broken messages are reasons for the dead-letter table, never a crash.
@Suite struct MessageValidationTests {
    static let valid = #"""
        {"schema": 1, "pipeline": "p", "round": 1, "problem_id": "q1", "k": 4,
         "answers": [{"answer": "7", "votes": 3}], "unparsable": 1, "outcome": "unanimous", "worker": "w"}
        """#

    static func reason(_ json: String) -> String? {
        do {
            _ = try WireFormat.decode(VoteRecordMessage.self, from: Array(json.utf8))
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func aValidRecordDecodes() {
        #expect(Self.reason(Self.valid) == nil)
    }

    @Test(arguments: [
        (#""k": 4"#, #""k": 3000000000"#, "k = 3000000000 is outside"),
        (#""k": 4"#, #""k": 0"#, "k = 0 is outside"),
        (#""round": 1"#, #""round": 9999999999"#, "round 9999999999 is outside"),
        (#""votes": 3"#, #""votes": 9223372036854775807"#, "outside 0…k"),
        (#""unparsable": 1"#, #""unparsable": -5"#, "outside 0…k"),
        (#""worker": "w""#, #""worker": "w\u0000x""#, "worker holds a NUL character"),
        (#""answer": "7""#, #""answer": "7\u0000""#, "answers.0 holds a NUL character"),
    ])
    func outOfRangeAndNULFieldsAreNamed(field: String, replacement: String, expected: String) throws {
        let hostile = Self.valid.replacingOccurrences(of: field, with: replacement)
        #expect(hostile != Self.valid)
        let reason = try #require(Self.reason(hostile))
        #expect(reason.contains(expected), "reason: \(reason)")
    }

    @Test func aTaskWithAnImpossibleRoundOrANULQuestionIsRefused() {
        func reason(_ json: String) -> String? {
            do {
                _ = try WireFormat.decode(TaskMessage.self, from: Array(json.utf8))
                return nil
            } catch { return error.reason }
        }
        let task = #"{"schema": 1, "pipeline": "p", "round": 2, "problem_id": "q", "question": "Q?", "attempt": 1}"#
        #expect(reason(task) == nil)
        #expect(reason(task.replacingOccurrences(of: #""round": 2"#, with: #""round": 4294967296"#)) != nil)
        #expect(reason(task.replacingOccurrences(of: #""attempt": 1"#, with: #""attempt": 0"#)) != nil)
        #expect(reason(task.replacingOccurrences(of: "Q?", with: #"Q\u0000?"#))?.contains("question") == true)
    }

    @Test func transientDatabaseErrorsAreToldApartFromBadData() {
        for state in ["40001", "40P01", "57014", "55P03", "53300", "57P01", "57P03", "08006"] {
            #expect(PostgresError.Code(state).isTransient, "\(state)")
        }
        for state in ["23505", "23503", "22P02", "22P05", "42601", "XX000"] {
            #expect(!PostgresError.Code(state).isTransient, "\(state)")
        }
    }

    @Test func anUnreachableBrokerIsTransientAMisconfiguredOneIsNot() {
        for code in [
            KafkaError.Code.messageTimedOut, .transport, .allBrokersDown, .timedOut, .unknownTopicOrPartition, .unknownTopic,
            .unknownPartition,
        ] {
            #expect(KafkaError(code: code, message: "").isTransient, "\(code)")
        }
        for code in [KafkaError.Code.invalidConfiguration, .fatal, .unsupportedLibrary, .topicAlreadyExists] {
            #expect(!KafkaError(code: code, message: "").isTransient, "\(code)")
        }
    }
}
