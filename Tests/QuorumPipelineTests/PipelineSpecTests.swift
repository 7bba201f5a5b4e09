import Foundation
import QuorumPipeline
import QuorumTraining
import SCPO
import Testing

@Suite("Pipeline specs")
struct PipelineSpecTests {
    static let minimal = """
        name: demo
        model:
          path: models/m0
        problems:
          - synthetic: { seed: 3, count: 50 }
        """

    @Test func theMinimalSpecGetsThePapersDefaults() throws {
        let spec = try PipelineSpec.parse(Self.minimal)
        #expect(spec.name == "demo")
        #expect(spec.sampling.k == 8)
        #expect(spec.sampling.temperature == 0.7)
        #expect(spec.sampling.topP == 0.9)
        #expect(spec.tau == [0.5, 0.7])
        #expect(spec.tau(forRound: 1) == 0.5)
        #expect(spec.tau(forRound: 2) == 0.7)
        #expect(spec.tau(forRound: 5) == 0.7)
        #expect(spec.trainer.scpo.beta == 0.5)
        #expect(spec.trainer.scpo.alpha == 1)
        #expect(spec.mode == .scpo)
        #expect(spec.servingFormat == .fp32)
        #expect(spec.tasksTopic == "quorum.demo.tasks")
        #expect(spec.votesTopic == "quorum.demo.votes")
    }

    @Test func theCommittedDemoSpecIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let spec = try PipelineSpec.load(path: root.appendingPathComponent("pipelines/arithmetic.yaml").path)
        #expect(spec.name == "arithmetic")
        #expect(spec.rounds == 2)
        let demo = try PipelineSpec.load(path: root.appendingPathComponent("pipelines/arith-demo.yaml").path)
        #expect(demo.name == "arith-demo")
        #expect(demo.rounds == 2)
        #expect(demo.model.path == "pipelines/seeds/seed-model-small-1.nzck")
        // The committed seed checkpoint is the one the spec names, and it unpacks to a loadable model.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("demo-seed-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let unpacked = try ModelArtifacts.folder(
            from: root.appendingPathComponent(demo.model.path!).path, sha256: demo.model.sha256,
            unpackingInto: folder.path)
        let checkpoint = try Checkpoint.load(directory: unpacked)
        #expect(checkpoint.model.parameterCount > 1_000_000)
        #expect(checkpoint.record?.config.generator == demo.problems.first?.synthetic?.generator)
        #expect(throws: ArtifactError.self) {
            try ModelArtifacts.folder(
                from: root.appendingPathComponent(demo.model.path!).path, sha256: String(repeating: "0", count: 64),
                unpackingInto: folder.path)
        }
    }

    struct BadSpec: Sendable, CustomTestStringConvertible {
        let yaml: String
        let line: Int?
        let field: String?
        let says: String
        var testDescription: String { says }
    }

    static let badSpecs: [BadSpec] = [
        BadSpec(yaml: minimal + "\nsampling:\n  k: eight\n", line: 7, field: "sampling.k", says: "whole number"),
        BadSpec(yaml: minimal + "\nsampling:\n  kk: 8\n", line: 7, field: "sampling.kk", says: "unknown key"),
        BadSpec(yaml: minimal + "\nsampling:\n  k: 1\n", line: 7, field: "sampling.k", says: "at least 2"),
        BadSpec(yaml: minimal + "\ntau: [0.5, 1.5]\n", line: 6, field: "tau", says: "fraction of k"),
        BadSpec(yaml: minimal + "\nmode: dpo\n", line: 6, field: "mode", says: "scpo-semi"),
        BadSpec(
            yaml: minimal + "\nmode: scpo-semi\n", line: nil, field: "labeled_fraction", says: "needs labeled_fraction"),
        BadSpec(yaml: minimal + "\nserving_format: int3\n", line: 6, field: "serving_format", says: "w4a16"),
        BadSpec(
            yaml: minimal.replacingOccurrences(of: "name: demo", with: "name: Demo Pipeline"), line: 1, field: "name",
            says: "lower-case"),
        BadSpec(
            yaml: minimal.replacingOccurrences(of: "name: demo\n", with: ""), line: nil, field: nil,
            says: "missing required key name"),
        BadSpec(
            yaml: minimal + "\n  - jsonl: a.jsonl\n    synthetic: { seed: 1, count: 2 }\n", line: 6,
            field: "problems.1",
            says: "exactly one of"),
        BadSpec(
            yaml: minimal.replacingOccurrences(of: "count: 50", with: "count: 50, max_number: 20, max_result: 19"),
            line: nil, field: "problems.0.synthetic", says: "max-result must be between"),
        BadSpec(
            yaml: minimal.replacingOccurrences(of: "count: 50", with: "count: 50, operations: \"+%\""),
            line: nil, field: "problems.0.synthetic", says: "operations must list"),
        BadSpec(
            yaml: minimal.replacingOccurrences(of: "count: 50", with: "count: 50, min_steps: 3, max_steps: 2"),
            line: nil, field: "problems.0.synthetic", says: "min-steps ≤ max-steps"),
        BadSpec(yaml: "name: [unclosed\n", line: nil, field: nil, says: "not valid YAML"),
        BadSpec(yaml: minimal + "\ntrainer:\n  learning_rate: 0.1\n", line: 7, field: "trainer.learning_rate", says: "unknown key"),
        BadSpec(yaml: minimal + "\ntrainer:\n  lr: -1\n", line: nil, field: "trainer", says: "lr must be positive"),
    ]

    @Test func theTrainerDefaultsAreSCPOConfigsOwn() throws {
        let spec = try PipelineSpec.parse(Self.minimal)
        #expect(spec.trainer.scpo == SCPOConfig())
        let tuned = try PipelineSpec.parse(
            Self.minimal + "\ntrainer: { lr: 3.0e-5, epochs: 2, keep_start_unless_beaten: true, dev_count: 50 }\n")
        #expect(tuned.trainer.scpo.lr == 3e-5 && tuned.trainer.scpo.epochs == 2)
        #expect(tuned.trainer.scpo.keepStartUnlessBeaten && tuned.trainer.devCount == 50)
        #expect(tuned.trainer.scpo.beta == SCPOConfig().beta)
    }

    @Test("the full-size pipeline draws problems with the knobs its seed model was trained on")
    func arithmeticPipelineMatchesItsSeedModel() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let spec = try PipelineSpec.load(path: root.appendingPathComponent("pipelines/arithmetic.yaml").path)
        let trainConfig = try #require(spec.model.trainConfig)
        let seedModel = try SFTConfig.load(path: root.appendingPathComponent(trainConfig).path)
        let drawn = try #require(spec.problems.first?.synthetic).generator
        #expect(drawn == seedModel.generator)
    }

    @Test func syntheticKnobsReachTheGenerator() throws {
        let yaml = Self.minimal.replacingOccurrences(
            of: "count: 50",
            with: "count: 50, min_steps: 4, max_steps: 4, max_number: 20, max_result: 99, operations: \"+-*\"")
        let generator = try #require(try PipelineSpec.parse(yaml).problems.first?.synthetic).generator
        #expect(generator.minSteps == 4 && generator.maxSteps == 4 && generator.maxNumber == 20)
        #expect(generator.resultLimit == 99 && generator.operations == "+-*")
        let defaults = try #require(try PipelineSpec.parse(Self.minimal).problems.first?.synthetic).generator
        #expect(defaults.resultLimit == 500)
    }

    @Test("bad specs are refused with the field, the line and what to do", arguments: badSpecs)
    func badSpecsAreLocated(_ bad: BadSpec) {
        do {
            _ = try PipelineSpec.parse(bad.yaml, file: "demo.yaml")
            Issue.record("expected the spec to be refused")
        } catch {
            #expect(error.description.contains(bad.says), "\(error.description)")
            #expect(error.file == "demo.yaml")
            if let line = bad.line { #expect(error.line == line, "\(error.description)") }
            if let field = bad.field { #expect(error.field == field, "\(error.description)") }
        }
    }

    @Test func theByoExampleEvaluatesOnItsOwnTestFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
            .standardizedFileURL.path
        var spec = try PipelineSpec.load(path: root + "/pipelines/byo-example.yaml")
        // Paths in a spec are relative to the working directory `quorum run` starts in: the checkout.
        spec.model.path = spec.model.path.map { root + "/" + $0 }
        spec.problems[0].jsonl = spec.problems[0].jsonl.map { root + "/" + $0 }
        spec.evaluation.jsonl = spec.evaluation.jsonl.map { root + "/" + $0 }
        #expect(spec.missingFiles.isEmpty)
        let test = try spec.evaluation.problems(record: nil)
        #expect(test.count == 8)
        #expect(test.allSatisfy { $0.id.hasPrefix("q-") && Int($0.answer) != nil })
        #expect(try spec.trainer.devSplit(record: nil, maxNewTokens: 64) == nil)  // dev_count 0
    }

    @Test func aRealClustersKafkaSettingsReachEveryClient() throws {
        let spec = try PipelineSpec.parse(
            Self.minimal + """

                kafka:
                  replication_factor: 3
                  properties: { security.protocol: SASL_SSL, sasl.mechanism: PLAIN, message.timeout.ms: "60000" }
                """)
        #expect(spec.kafka?.replicationFactor == 3)
        let configuration = spec.kafkaConfiguration(brokers: "b1:9093", extra: ["sasl.mechanism": "SCRAM-SHA-512"])
        #expect(configuration.bootstrapServers == "b1:9093")
        #expect(configuration.properties["security.protocol"] == "SASL_SSL")
        #expect(configuration.properties["sasl.mechanism"] == "SCRAM-SHA-512")  // a process's own flag wins
        #expect(configuration.properties["message.timeout.ms"] == "60000")
        // Without a kafka section the stored spec is what it was (its hash, and so its registration, unchanged).
        let plain = try PipelineSpec.parse(Self.minimal)
        #expect(!String(decoding: try WireFormat.encode(plain), as: UTF8.self).contains("kafka"))
        #expect(throws: PipelineSpecError.self) {
            try PipelineSpec.parse(Self.minimal + "\nkafka: { replicas: 3 }")
        }
        #expect(throws: PipelineSpecError.self) {
            try PipelineSpec.parse(Self.minimal + "\nkafka: { replication_factor: 0 }")
        }
    }

    @Test func theManagersTimeoutsAreSettableAndSafeToChange() throws {
        let plain = try PipelineSpec.parse(Self.minimal)
        #expect(plain.timeouts == nil)
        let patient = try PipelineSpec.parse(Self.minimal + "\ntimeouts: { republish_after: 15, outage_tolerance: 3600 }")
        #expect(patient.timeouts?.republishAfter == 15)
        #expect(patient.timeouts?.outageTolerance == 3600)
        // A registered pipeline may change its timeouts; its sampling may not change.
        #expect(try PipelineSpec.refusal(changing: plain, to: patient, roundsCreated: 1) == nil)
        var hotter = patient
        hotter.sampling.temperature += 0.1
        #expect(try PipelineSpec.refusal(changing: plain, to: hotter, roundsCreated: 1)?.contains("sampling") == true)
        for bad in ["republish_after: 1", "outage_tolerance: -5", "republish: 30"] {
            #expect(throws: PipelineSpecError.self, "\(bad)") {
                try PipelineSpec.parse(Self.minimal + "\ntimeouts: { \(bad) }")
            }
        }
    }

    @Test func filesTheSpecNamesAreCheckedBeforeAnyWork() throws {
        let spec = try PipelineSpec.parse(
            """
            name: files
            model: { path: /nonexistent/m0 }
            problems:
              - jsonl: /nonexistent/problems.jsonl
              - synthetic: { seed: 1, count: 2 }
            """)
        #expect(spec.missingFiles == ["model.path: /nonexistent/m0", "problems.0.jsonl: /nonexistent/problems.jsonl"])
        let here = try PipelineSpec.parse(
            """
            name: files
            model: { path: \(FileManager.default.currentDirectoryPath) }
            problems: [ { synthetic: { seed: 1, count: 2 } } ]
            """)
        #expect(here.missingFiles.isEmpty)
    }
}
