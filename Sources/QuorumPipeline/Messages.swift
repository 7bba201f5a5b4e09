import Foundation
public import QuorumVoting

/// The wire format of the pipeline's Kafka messages: JSON objects with a `schema` version, keyed by
/// problem id so one problem's records stay ordered on one partition.
public enum WireFormat {
    /// The schema version this build writes and reads.
    public static let schema = 1

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The largest round number a message may carry (the `integer` columns' range).
    public static let maxRound = Int(Int32.max)
    /// The most samples per problem a vote record may count (a problem's random streams stay apart
    /// for fewer than 65 536 samples).
    public static let maxSamples = 65_536

    /// The first of `fields` (by name) whose text holds U+0000, which neither `text` nor `jsonb` stores.
    static func fieldWithNUL(_ fields: [String: String]) -> String? {
        fields.keys.sorted().first { fields[$0]!.unicodeScalars.contains("\u{0}") }
    }

    /// Encodes a message.
    public static func encode(_ message: some Encodable) throws -> [UInt8] {
        Array(try encoder.encode(message))
    }

    /// Decodes a message, or explains (for the dead-letter table) why it cannot be read.
    public static func decode<T: Decodable & VersionedMessage>(_ type: T.Type, from bytes: [UInt8]) throws(DeadLetter)
        -> T
    {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw DeadLetter("not JSON (\(bytes.count) bytes): \(error.localizedDescription)")
        }
        guard let fields = object as? [String: Any] else { throw DeadLetter("not a JSON object") }
        guard let schema = fields["schema"] as? Int else { throw DeadLetter("no integer \"schema\" field") }
        guard schema == Self.schema else {
            throw DeadLetter(
                "schema \(schema) is not supported by this build (it reads schema \(Self.schema)); upgrade the sink")
        }
        do {
            let message = try JSONDecoder().decode(T.self, from: Data(bytes))
            if let problem = message.validationProblem { throw DeadLetter(problem) }
            return message
        } catch let error as DeadLetter {
            throw error
        } catch let DecodingError.keyNotFound(key, _) {
            throw DeadLetter("\(T.kind): missing field \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            throw DeadLetter("\(T.kind): field \"\(path)\" has the wrong type")
        } catch {
            throw DeadLetter("\(T.kind): \(error)")
        }
    }
}

/// A message with a schema version and its own consistency rules.
public protocol VersionedMessage {
    /// A name for error messages.
    static var kind: String { get }
    /// Why the decoded message is inconsistent, or nil when it is fine.
    var validationProblem: String? { get }
}

/// A problem to sample, published to `quorum.NAME.tasks`.
public struct TaskMessage: Codable, Sendable, Equatable, VersionedMessage {
    public var schema = WireFormat.schema
    public var pipeline: String
    public var round: Int
    public var problemID: String
    public var question: String
    /// 1 for the first publication, then 2, 3… when the round manager re-publishes.
    public var attempt: Int
    /// The gold answer, sent only for labeled problems in the semi-supervised and gold modes.
    public var gold: String?
    /// The run of the pipeline name that published the task (see ``VoteRecordMessage/run``).
    public var run: String?

    /// Creates a task.
    public init(
        pipeline: String, round: Int, problemID: String, question: String, attempt: Int, gold: String? = nil,
        run: String? = nil
    ) {
        self.run = run
        self.pipeline = pipeline
        self.round = round
        self.problemID = problemID
        self.question = question
        self.attempt = attempt
        self.gold = gold
    }

    enum CodingKeys: String, CodingKey {
        case schema, pipeline, round, question, attempt, gold, run
        case problemID = "problem_id"
    }

    public static let kind = "task"
    public var validationProblem: String? {
        if !(1...WireFormat.maxRound).contains(round) { return "task: round \(round) is outside 1…\(WireFormat.maxRound)" }
        if problemID.isEmpty { return "task: empty problem_id" }
        if attempt < 1 { return "task: attempt must be at least 1" }
        if let field = WireFormat.fieldWithNUL(
            ["pipeline": pipeline, "problem_id": problemID, "question": question, "gold": gold ?? ""])
        {
            return "task: \(field) holds a NUL character, which PostgreSQL cannot store"
        }
        return nil
    }
}

/// One problem's votes in one round, published to `quorum.NAME.votes` by a worker.
public struct VoteRecordMessage: Codable, Sendable, Equatable, VersionedMessage {
    /// Votes for one distinct answer.
    public struct AnswerVotes: Codable, Sendable, Equatable {
        public var answer: String
        public var votes: Int

        /// Creates an entry.
        public init(answer: String, votes: Int) {
            self.answer = answer
            self.votes = votes
        }
    }

    public var schema = WireFormat.schema
    public var pipeline: String
    public var round: Int
    public var problemID: String
    /// Samples drawn (votes cast plus unparsable responses).
    public var k: Int
    public var answers: [AnswerVotes]
    public var unparsable: Int
    /// `pair`, or why there is none (`below_threshold`, `unanimous`, `tie`, `no_parsable_answer`, …).
    public var outcome: String
    public var worker: String?
    /// The preference pair made from the votes, if any.
    public var pair: PreferencePair?
    /// The run of the pipeline name whose task this answers: the sink stores only records of the
    /// pipeline's current run (nil, from a worker that predates runs, is taken as current).
    public var run: String?

    /// Creates a record.
    public init(
        pipeline: String, round: Int, problemID: String, k: Int, answers: [AnswerVotes], unparsable: Int,
        outcome: String, worker: String?, pair: PreferencePair?
    ) {
        self.pipeline = pipeline
        self.round = round
        self.problemID = problemID
        self.k = k
        self.answers = answers
        self.unparsable = unparsable
        self.outcome = outcome
        self.worker = worker
        self.pair = pair
    }

    enum CodingKeys: String, CodingKey {
        case schema, pipeline, round, k, answers, unparsable, outcome, worker, pair, run
        case problemID = "problem_id"
    }

    public static let kind = "vote record"
    public var validationProblem: String? {
        if !(1...WireFormat.maxRound).contains(round) {
            return "vote record: round \(round) is outside 1…\(WireFormat.maxRound)"
        }
        if problemID.isEmpty { return "vote record: empty problem_id" }
        // Bounds first, so that the sums below cannot overflow and every count fits its column.
        if !(1...WireFormat.maxSamples).contains(k) { return "vote record: k = \(k) is outside 1…\(WireFormat.maxSamples)" }
        if !(0...k).contains(unparsable) || answers.contains(where: { !(0...k).contains($0.votes) }) {
            return "vote record: a vote or unparsable count is outside 0…k (k = \(k))"
        }
        if let pair, !(0...k).contains(pair.chosenVotes) || !(0...k).contains(pair.rejectedVotes) {
            return "vote record: the pair's vote counts are outside 0…k (k = \(k))"
        }
        var texts = ["pipeline": pipeline, "problem_id": problemID, "outcome": outcome, "worker": worker ?? ""]
        for (index, answer) in answers.enumerated() { texts["answers.\(index)"] = answer.answer }
        if let pair {
            texts["pair.prompt"] = pair.prompt
            texts["pair.chosen"] = pair.chosen
            texts["pair.rejected"] = pair.rejected
            texts["pair.chosen_answer"] = pair.chosenAnswer
            texts["pair.rejected_answer"] = pair.rejectedAnswer ?? ""
        }
        if let field = WireFormat.fieldWithNUL(texts) {
            return "vote record: \(field) holds a NUL character, which PostgreSQL cannot store"
        }
        let cast = answers.reduce(0) { $0 + $1.votes } + unparsable
        if answers.contains(where: { $0.votes < 1 }) {
            return "vote record: every listed answer needs at least one vote"
        }
        if cast > k { return "vote record: \(cast) votes and unparsable responses exceed k = \(k)" }
        if (outcome == "pair") != (pair != nil) {
            return "vote record: outcome \"\(outcome)\" does not match the pair field"
        }
        if let pair, !(0...1).contains(pair.weight) {
            return "vote record: pair weight \(pair.weight) is outside [0, 1]"
        }
        if let pair, pair.problemID != problemID || pair.round != round || pair.k != k {
            return "vote record: the pair's problem_id, round and k must match the record's"
        }
        return nil
    }
}
