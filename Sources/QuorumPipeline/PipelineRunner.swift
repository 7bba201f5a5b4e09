import CoreMetrics
import Foundation
public import QuorumKafka
import QuorumModel
import QuorumServing
public import QuorumStore
import QuorumTasks
import QuorumTokenizer
import QuorumTraining
public import QuorumVoting
import QuorumCore
import SCPO

/// The numbers an evaluation produces.
public struct EvaluationNumbers: Sendable, Codable, Equatable {
    /// Problems evaluated.
    public var problems: Int
    /// Greedy accuracy in [0, 1].
    public var greedyAccuracy: Double
    /// Majority-of-k accuracy in [0, 1] (nil when k = 0: greedy only).
    public var majorityAccuracy: Double?
    /// The k of the majority vote (0: greedy only).
    public var k: Int
    /// Per problem, in split order: whether greedy decoding was right (for paired standard errors).
    public var greedyCorrect: [Bool]
    /// Per problem: whether the majority of k was right (empty when k = 0).
    public var majorityCorrect: [Bool]

    /// Creates the numbers.
    public init(
        problems: Int, greedyAccuracy: Double, majorityAccuracy: Double?, k: Int, greedyCorrect: [Bool] = [],
        majorityCorrect: [Bool] = []
    ) {
        self.problems = problems
        self.greedyAccuracy = greedyAccuracy
        self.majorityAccuracy = majorityAccuracy
        self.k = k
        self.greedyCorrect = greedyCorrect
        self.majorityCorrect = majorityCorrect
    }

    /// The per-problem outcomes as stored (``OutcomeBytes``).
    public var outcomeBytes: [UInt8] { OutcomeBytes.encode(greedy: greedyCorrect, majority: majorityCorrect) }
}

/// The model work of a pipeline, which the runner calls at the right moments. Each closure gets
/// model folders (safetensors + config.json + tokenizer.json) and blocks as long as the work takes.
public struct PipelineStages: Sendable {
    /// Trains the seed model M0 from a configuration file into a folder.
    public var trainSeed: @Sendable (_ configPath: String, _ output: String) async throws -> Void
    /// Trains M_round from M_{round−1} (also the frozen reference) on the round's pairs; returns the
    /// training record as JSON.
    public var trainRound:
        @Sendable (_ round: Int, _ reference: String, _ pairs: [PreferencePair], _ output: String) async throws ->
            String
    /// Evaluates a model on the spec's held-out split.
    public var evaluate: @Sendable (_ model: String) async throws -> EvaluationNumbers

    /// Creates the stages.
    public init(
        trainSeed: @escaping @Sendable (String, String) async throws -> Void,
        trainRound: @escaping @Sendable (Int, String, [PreferencePair], String) async throws -> String,
        evaluate: @escaping @Sendable (String) async throws -> EvaluationNumbers
    ) {
        self.trainSeed = trainSeed
        self.trainRound = trainRound
        self.evaluate = evaluate
    }
}

/// Runs a pipeline's rounds to the end: the round manager, the trainer stage and the evaluation.
/// Workers and the sink run beside it (as processes, or tasks in tests) and are not its concern.
///
/// Every step reads its state from PostgreSQL first, so a runner killed at any moment and started
/// again continues where it stopped: a published model is not trained again, a done round is
/// skipped, a sampling round re-publishes what is missing.
public struct PipelineRunner: Sendable {
    /// The pipeline.
    public let spec: PipelineSpec
    /// The database.
    public let database: PostgresClient
    /// The Kafka cluster.
    public let kafka: KafkaConfiguration
    /// The model work.
    public let stages: PipelineStages
    /// Where model folders are kept between steps.
    public let workDirectory: String
    /// Seconds without a new vote after which missing problems are re-published (the spec's
    /// `timeouts.republish_after`).
    public var republishAfter: Double
    /// How long the run waits out a database or broker that is unreachable before it gives up
    /// (`timeouts.outage_tolerance`).
    public var outageTolerance: Duration
    /// Where progress lines go.
    public var log: @Sendable (String) -> Void = { _ in }

    /// Where checkpoints go (the spec's `artifacts`).
    public let artifacts: any ArtifactStore

    /// Creates a runner.
    ///
    /// - Throws: ``ArtifactError`` when the spec's artifact directory cannot be used.
    public init(
        spec: PipelineSpec, database: PostgresClient, kafka: KafkaConfiguration, stages: PipelineStages,
        workDirectory: String
    ) throws {
        artifacts = try spec.artifactStore(database: database)
        self.spec = spec
        self.database = database
        self.kafka = kafka
        self.stages = stages
        self.workDirectory = workDirectory
        let timeouts = spec.timeouts ?? PipelineSpec.Timeouts()
        republishAfter = timeouts.republishAfter
        outageTolerance = .milliseconds(Int64(timeouts.outageTolerance * 1000))
    }

    var manager: RoundManager { RoundManager(spec: spec, database: database) }
    var checkpoints: ModelCheckpoints {
        ModelCheckpoints(database: database, store: artifacts)
    }

    /// Registers the pipeline, creates its topics and publishes the seed model M0 (training it first
    /// when the spec says so).
    public func prepare() async throws {
        let missing = spec.missingFiles
        guard missing.isEmpty else {
            throw RoundError(
                message: "the spec names files that do not exist here: \(missing.joined(separator: ", ")); "
                    + "fix the paths (relative ones are read from the working directory)")
        }
        try await manager.register()
        let admin = try KafkaAdmin(configuration: kafka)
        try await createTopics(admin)
        if try await checkpoints.find(pipeline: spec.name, round: 0) == nil {
            let folder: String
            if let path = spec.model.path {
                folder = try ModelArtifacts.folder(from: path, sha256: spec.model.sha256, unpackingInto: modelFolder(0))
            } else {
                folder = modelFolder(0)
                log("[run] training the seed model M0 from \(spec.model.trainConfig!)")
                try await stages.trainSeed(spec.model.trainConfig!, folder)
            }
            let published = try await checkpoints.publish(directory: folder, pipeline: spec.name, round: 0)
            log(
                "[run] published M0: \(published.compressedBytes) bytes (NeuZip \(String(format: "%.3f", Double(published.uncompressedBytes) / Double(published.compressedBytes)))×)"
            )
        }
        try await evaluateIfNeeded(round: 0)
    }

    /// Runs every round that is not done yet.
    ///
    /// A database or broker that goes away (a restart, a network blink) does not stop the run: the
    /// round is taken up again from the state PostgreSQL holds, with back-off, for up to
    /// ``outageTolerance`` of consecutive failures.
    public func runRounds() async throws {
        for round in 1...spec.rounds {
            try await ridingOutages("round \(round)") {
                try await runRound(round, problems: try loadProblems(round: round))
            }
        }
    }

    /// Runs `body` again (it must be resumable) while it fails with errors an outage explains.
    func ridingOutages(_ what: String, _ body: () async throws -> Void) async throws {
        var delay = Duration.seconds(1)
        var waited = Duration.zero
        while true {
            do { return try await body() } catch where Self.isOutage(error) && waited < outageTolerance {
                if Task.isCancelled { throw error }
                log("[run] \(what): \(error); the database or the broker is unreachable, trying again in \(delay)")
                try await Task.sleep(for: delay)
                waited += delay
                delay = min(delay * 2, .seconds(30))
                // An in-memory broker that restarted has lost its topics.
                if let admin = try? KafkaAdmin(configuration: kafka) { try? await createTopics(admin) }
            }
        }
    }

    /// The pipeline's two topics, with the spec's partitions and replication factor (kept when they exist).
    func createTopics(_ admin: KafkaAdmin) async throws {
        let replicas = spec.kafka?.replicationFactor ?? 1
        try await admin.createTopic(spec.tasksTopic, partitions: spec.partitions, replicationFactor: replicas)
        try await admin.createTopic(spec.votesTopic, partitions: spec.partitions, replicationFactor: replicas)
    }

    /// Whether `error` comes from a server that is (for now) unreachable, not from the work itself.
    static func isOutage(_ error: any Error) -> Bool {
        if let error = error as? PostgresError { return error.code.isTransient }
        if let error = error as? KafkaError { return error.isTransient }
        return false
    }

    /// One round, from wherever it stands.
    public func runRound(_ round: Int, problems: [RoundProblem]) async throws {
        let manager = self.manager
        // Self-generated problems come from M_{round−1}, once: the round's rows are the record of them.
        let exists = try await manager.roundExists(round)
        let generated = exists ? [] : try await selfGeneratedProblems(round, pool: problems)
        try await manager.createRound(round, problems: problems + generated)
        while true {
            let progress = try await manager.progress(round)
            let state = Gauge(label: "quorum_round_state", dimensions: [("pipeline", spec.name), ("round", "\(round)")])
            state.record(progress.state.metricCode)
            let step = RoundStep(progress.state, failure: progress.failure)
            switch step {
            case .finished:
                return
            case .refuse(let failure):
                throw RoundError(
                    message: "round \(round) failed earlier (\(failure ?? "?")); once its cause is fixed, "
                        + "`quorum pipeline reset-round \(spec.name) \(round)` makes it run again")
            case .startSampling:
                break
            case .sample:
                try await sample(round)
            case .train:
                do { try await train(round) } catch {
                    try? await manager.advance(round, to: .failed, failure: "training: \(error)")
                    throw error
                }
            case .evaluate:
                try await evaluateIfNeeded(round: round)
            }
            if let next = step.nextState {
                try await manager.advance(round, to: next)
                state.record(next.metricCode)
            }
            if step == .evaluate { break }
        }
        log("[run] round \(round) done")
    }

    /// Publishes the round's problems and waits until every one has its vote record, re-publishing
    /// what stays missing (a broker restart loses queued messages; PostgreSQL knows what is missing).
    func sample(_ round: Int) async throws {
        let producer = try KafkaProducer(configuration: kafka)
        defer { Task { await producer.close() } }
        let published = try await manager.publishPending(round, producer: producer)
        if published > 0 { log("[run] round \(round): published \(published) problems to \(spec.tasksTopic)") }
        var watch = SamplingWatch(republishAfter: .seconds(republishAfter), now: .now)
        let started = ContinuousClock.now
        var lagRecorded = ContinuousClock.now - .seconds(60)
        while true {
            if ContinuousClock.now - lagRecorded >= .seconds(10) {
                await recordLag()
                lagRecorded = .now
            }
            try Task.checkCancellation()
            let progress = try await manager.progress(round)
            let (decision, progressed) = watch.observe(voted: progress.voted, problems: progress.problems, now: .now)
            Gauge(label: "quorum_round_voted_problems", dimensions: [("pipeline", spec.name), ("round", "\(round)")])
                .record(progress.voted)
            Gauge(label: "quorum_round_problems", dimensions: [("pipeline", spec.name), ("round", "\(round)")])
                .record(progress.problems)
            if progressed {
                let seconds = Double((ContinuousClock.now - started).components.seconds)
                let rate = seconds > 0 ? Double(progress.voted) / seconds : 0
                log(
                    "[run] round \(round): voted \(progress.voted)/\(progress.problems), pairs \(progress.pairs)"
                        + (rate > 0 ? String(format: ", %.1f problems/s", rate) : ""))
            }
            switch decision {
            case .complete: return
            case .republish:
                try await mendModel(round - 1)
                let again = try await manager.republishMissing(round, olderThan: republishAfter, producer: producer)
                if again > 0 { log("[run] round \(round): re-published \(again) problems without a vote record") }
            case .wait: break
            }
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// The workers' lag on the tasks topic and the sink's on the votes topic: per partition as the
    /// `quorum_consumer_lag` gauge (the round manager is the pipeline's lag exporter), and summed per
    /// group into `consumer_lag` for the dashboard. Best effort.
    func recordLag() async {
        guard let admin = try? KafkaAdmin(configuration: kafka) else { return }
        for (group, topic) in [("quorum.\(spec.name).workers", spec.tasksTopic), ("quorum.\(spec.name).sink", spec.votesTopic)] {
            guard let lags = try? await admin.lag(group: group, topic: topic) else { continue }
            for lag in lags {
                Gauge(
                    label: "quorum_consumer_lag",
                    dimensions: [("group", group), ("topic", topic), ("partition", "\(lag.topicPartition.partition)")]
                ).record(lag.lag)
            }
            let total = lags.reduce(0) { $0 + $1.lag }
            _ = try? await database.execute(
                "INSERT INTO consumer_lag (pipeline, consumer_group, lag) VALUES (\(spec.name), \(group), \(total))")
        }
        _ = try? await database.execute(
            "DELETE FROM consumer_lag WHERE pipeline = \(spec.name) AND sampled_at < now() - interval '1 day'")
    }

    /// While a round is stuck: a worker cannot sample from a damaged checkpoint, so M_`model`'s stored
    /// copy is read back and, if damaged, stored again from this manager's own copy.
    func mendModel(_ model: Int) async throws {
        switch try await checkpoints.mendIfDamaged(pipeline: spec.name, round: model, localCopy: modelFolder(model)) {
        case .intact: break
        case .restored: log("[run] M\(model)'s stored checkpoint was damaged; stored it again from \(modelFolder(model))")
        case .damagedWithoutCopy(let reason):
            log(
                "[run] M\(model)'s stored checkpoint is damaged (\(reason)) and \(modelFolder(model)) holds no copy "
                    + "of it: workers cannot sample this round. Run the manager where M\(model) was trained (its "
                    + "--work-directory), or delete the pipeline and run it again")
        }
    }

    /// Trains M_round from M_{round−1} on the round's pairs and publishes it.
    func train(_ round: Int) async throws {
        if try await checkpoints.find(pipeline: spec.name, round: round) != nil { return }
        let reference = modelFolder(round - 1)
        if !FileManager.default.fileExists(atPath: reference + "/model.safetensors") {
            try await checkpoints.fetch(pipeline: spec.name, round: round - 1, into: reference)
        }
        let pairs = try await StoredPairs.load(pipeline: spec.name, round: round, database: database)
            .filter { $0.weight > 0 }
        let output = modelFolder(round)
        let record: String
        if pairs.isEmpty {
            // Nothing to learn from: M_round is M_{round−1}, and the record says why.
            log("[run] round \(round): no pairs with a weight above 0; M\(round) is M\(round - 1)")
            try? FileManager.default.removeItem(atPath: output)
            try FileManager.default.copyItem(atPath: reference, toPath: output)
            record = "{\"skipped\": \"round \(round) had no pairs; M\(round) is M\(round - 1)\"}"
        } else {
            log("[run] round \(round): training M\(round) on \(pairs.count) pairs")
            record = try await stages.trainRound(round, reference, pairs, output)
        }
        let published = try await checkpoints.publish(directory: output, pipeline: spec.name, round: round)
        try await manager.saveTrainingRecord(record, round: round)
        log("[run] published M\(round): \(published.compressedBytes) bytes")
    }

    /// Evaluates M_round on the held-out split, once.
    func evaluateIfNeeded(round: Int) async throws {
        if try await manager.hasEvaluation(round: round) { return }
        let folder = modelFolder(round)
        if !FileManager.default.fileExists(atPath: folder + "/model.safetensors") {
            try await checkpoints.fetch(pipeline: spec.name, round: round, into: folder)
        }
        let numbers = try await stages.evaluate(folder)
        try await manager.saveEvaluation(numbers, round: round)
        log(
            String(format: "[run] M%d on %@: greedy %.1f %%", round, spec.evaluation.split, numbers.greedyAccuracy * 100)
                + (numbers.majorityAccuracy.map { String(format: ", majority-of-%d %.1f %%", numbers.k, $0 * 100) } ?? ""))
    }

    /// Round `round`'s self-generated problems (see ``SelfGeneratedProblems`` for the prompt and
    /// the filter): M_{round−1} writes `count` candidate questions per source, then votes on each.
    func selfGeneratedProblems(_ round: Int, pool staticProblems: [RoundProblem]) async throws -> [RoundProblem] {
        let sources = spec.problems.compactMap(\.selfGenerated)
        guard !sources.isEmpty else { return [] }
        var pool = staticProblems.map(\.question)
        if pool.count < SelfGeneratedProblems.shots {
            // No other source to draw examples from: generated training questions.
            pool += try ProblemGenerator().generate(split: .train, count: 64, seed: 1).map(\.question)
        }
        let folder = modelFolder(round - 1)
        if !FileManager.default.fileExists(atPath: folder + "/model.safetensors") {
            try await checkpoints.fetch(pipeline: spec.name, round: round - 1, into: folder)
        }
        let checkpoint = try Checkpoint.load(directory: folder)
        let sampling = spec.sampling
        let tau = spec.tau(forRound: round)
        var kept: [RoundProblem] = []
        var earlier = Set<String>()
        for (sourceIndex, source) in sources.enumerated() {
            let seed = (source.seed ?? 1) &+ UInt64(sourceIndex) &* 0x1000
            let examples = (0..<source.count).map {
                SelfGeneratedProblems.examples(pool: pool, seed: seed, round: round, index: $0)
            }
            let prompts = examples.map {
                SelfGeneratedProblems.prompt(examples: $0, questionPrefix: checkpoint.promptFormat.questionPrefix)
            }
            let written = try await writeQuestions(folder, prompts: prompts, seed: seed &+ UInt64(round))
            var candidates: [(id: String, question: String)] = []
            var reasons: [String: Int] = [:]
            for (index, text) in written.enumerated() {
                let question = SelfGeneratedProblems.question(fromGenerated: text)
                if let reason = SelfGeneratedProblems.rejection(question, examples: examples[index], earlier: earlier) {
                    reasons[reason, default: 0] += 1
                    continue
                }
                earlier.insert(question)
                candidates.append((SelfGeneratedProblems.problemID(question), question))
            }
            let sampler = ModelSampler(
                model: checkpoint.model, tokenizer: checkpoint.tokenizer, format: checkpoint.promptFormat,
                maxNewTokens: sampling.maxNewTokens)
            let answers =
                candidates.isEmpty
                ? []
                : try await sampler.sample(
                    candidates, k: sampling.k, temperature: sampling.temperature, topP: sampling.topP,
                    seed: seed &+ UInt64(round) &+ 1)
            var passed = 0
            for (candidate, responses) in zip(candidates, answers) {
                let vote = SelfGeneratedProblems.vote(responses: responses, tau: tau)
                if vote.kept {
                    passed += 1
                    kept.append(
                        RoundProblem(
                            id: candidate.id, question: candidate.question, gold: nil, source: "self-generated"))
                } else {
                    reasons["vote below τ·k", default: 0] += 1
                }
            }
            let dropped = reasons.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            log(
                "[run] round \(round): M\(round - 1) wrote \(source.count) questions, kept \(passed)"
                    + (dropped.isEmpty ? "" : " (dropped: \(dropped))"))
        }
        return kept
    }

    /// Continues each few-shot prompt up to a newline (at most 96 tokens), with the round's sampling settings.
    private func writeQuestions(_ folder: String, prompts: [String], seed: UInt64) async throws -> [String] {
        let parameters = SamplingParameters(
            temperature: spec.sampling.temperature, topP: spec.sampling.topP, maxNewTokens: 96, seed: seed)
        return try await runOnDedicatedThread { () throws -> [String] in
            let checkpoint = try Checkpoint.load(directory: folder)
            let (model, tokenizer) = (checkpoint.model, checkpoint.tokenizer)
            // A prompt longer than the context keeps its end (the last examples and "Question:").
            let room = model.config.maxPositionEmbeddings - parameters.maxNewTokens
            guard room > 16 else {
                throw RoundError(
                    message: "the model's context (\(model.config.maxPositionEmbeddings) tokens) is too short to "
                        + "write questions")
            }
            let encoded = prompts.map { prompt -> [Int] in
                let bos = tokenizer.bosID.map { [Int($0)] } ?? []
                let text = tokenizer.encode(prompt, parseSpecialTokens: false).map(Int.init)
                return bos + text.suffix(room - bos.count)
            }
            let generations = model.generate(
                prompts: encoded, parameters: parameters, streams: (0..<encoded.count).map { UInt64($0) << 16 },
                eosTokenId: tokenizer.eosID.map(Int.init)
            ) { _, tokens in
                guard let last = tokens.last else { return false }
                return tokenizer.decode([Int32(truncatingIfNeeded: last)]).contains(where: \.isNewline)
            }
            return generations.map {
                tokenizer.decode($0.tokens.map { Int32(truncatingIfNeeded: $0) }, skipSpecialTokens: true)
            }
        }
    }

    func modelFolder(_ round: Int) -> String { "\(workDirectory)/\(spec.name)/m\(round)" }

    /// The problems round `round` samples: the same unlabeled training questions each round, as in
    /// the paper, except that a synthetic source with `fresh_each_round` draws round r's from seed
    /// `seed + r − 1` (fresh problems for every round). In `scpo-semi` a deterministic
    /// `labeled_fraction` of them carries its gold answer, in `irpo-gold` all do.
    public func loadProblems(round: Int = 1) throws -> [RoundProblem] {
        var problems: [RoundProblem] = []
        for source in spec.problems {
            if let synthetic = source.synthetic {
                let seed = synthetic.freshEachRound == true ? synthetic.seed &+ UInt64(round - 1) : synthetic.seed
                let generated = try ProblemGenerator(config: synthetic.generator).generate(
                    split: .train, count: synthetic.count, seed: seed)
                problems += generated.map {
                    RoundProblem(id: $0.id, question: $0.question, gold: $0.answer, source: "synthetic")
                }
            } else if let path = source.jsonl {
                // Gold answers are canonicalised on the way in, as votes are: `1,234` and `1234` agree.
                problems += try ProblemJSONL.read(from: URL(fileURLWithPath: path)).map {
                    RoundProblem(
                        id: $0.id, question: $0.question, gold: SampledResponse.canonicalAnswer($0.answer),
                        source: "jsonl")
                }
            }  // self_generated sources are written per round by the model (selfGeneratedProblems)
        }
        var seen = Set<String>()
        problems = problems.filter { seen.insert($0.id).inserted }
        for index in problems.indices {
            problems[index].labeled = spec.mode.isLabeled(id: problems[index].id, fraction: spec.labeledFraction ?? 0)
        }
        return problems
    }
}
