import Foundation
import QuorumServing
import QuorumTasks
import SCPO
import Yams

/// A problem in a pipeline spec, located in its file.
public struct PipelineSpecError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file (or `<string>`).
    public var file: String
    /// The 1-based line, when known.
    public var line: Int?
    /// The dotted path of the offending key (`sampling.k`), when known.
    public var field: String?
    /// What is wrong and what to write instead.
    public var message: String

    public var description: String {
        let location = [file, line.map { "line \($0)" }].compactMap { $0 }.joined(separator: ", ")
        return "\(location): " + (field.map { "\($0): " } ?? "") + message
    }
}

extension PipelineSpec {
    /// Loads and validates a spec file.
    public static func load(path: String) throws(PipelineSpecError) -> PipelineSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PipelineSpecError(file: path, message: "cannot read the file; check the path")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    /// Parses and validates YAML text.
    public static func parse(_ yaml: String, file: String = "<string>") throws(PipelineSpecError) -> PipelineSpec {
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: yaml) else {
                throw PipelineSpecError(
                    file: file, message: "the file is empty; a spec needs at least name, model and problems")
            }
            root = composed
        } catch let error as PipelineSpecError {
            throw error
        } catch let error as YamlError {
            throw PipelineSpecError(file: file, line: yamlErrorLine(error), message: "not valid YAML: \(error)")
        } catch {
            throw PipelineSpecError(file: file, message: "not valid YAML: \(error)")
        }
        let locator = NodeLocator(root: root, file: file)
        try locator.rejectUnknownKeys()
        let spec: PipelineSpec
        do {
            spec = try YAMLDecoder().decode(PipelineSpec.self, from: root)
        } catch let error as DecodingError {
            throw locator.error(for: error)
        } catch {
            throw PipelineSpecError(file: file, message: "\(error)")
        }
        try spec.validate(locator)
        return spec
    }

    /// Checks the values that decoding alone cannot.
    func validate(_ at: NodeLocator) throws(PipelineSpecError) {
        func require(_ condition: Bool, _ path: [String], _ message: String) throws(PipelineSpecError) {
            if !condition { throw at.error(path, message) }
        }
        let namePattern = name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
        try require(
            !name.isEmpty && namePattern, ["name"], "use lower-case letters, digits and '-' (it names Kafka topics)")
        try require(
            (model.path == nil) != (model.trainConfig == nil), ["model"],
            "give exactly one of path (an existing model) or train_config (train a seed model first)")
        try require(!problems.isEmpty, ["problems"], "list at least one problem source")
        for (index, source) in problems.enumerated() {
            let given = [source.synthetic != nil, source.jsonl != nil, source.selfGenerated != nil].filter { $0 }.count
            try require(
                given == 1, ["problems", "\(index)"], "each source is exactly one of synthetic, jsonl or self_generated"
            )
            if let synthetic = source.synthetic {
                try require(synthetic.count > 0, ["problems", "\(index)", "synthetic", "count"], "must be at least 1")
                do { try synthetic.generator.validate() } catch let error as TaskError {
                    try require(false, ["problems", "\(index)", "synthetic"], error.message)
                } catch { try require(false, ["problems", "\(index)", "synthetic"], "\(error)") }
            }
            if let generated = source.selfGenerated {
                try require(
                    generated.count > 0, ["problems", "\(index)", "self_generated", "count"], "must be at least 1")
            }
        }
        try require(
            sampling.k >= 2, ["sampling", "k"], "self-consistency needs at least 2 samples per problem (the paper: 8)")
        try require(sampling.temperature > 0, ["sampling", "temperature"], "must be above 0 (the paper: 0.7)")
        try require(
            sampling.topP > 0 && sampling.topP <= 1, ["sampling", "top_p"], "must be in (0, 1] (the paper: 0.9)")
        try require(sampling.maxNewTokens > 0, ["sampling", "max_new_tokens"], "must be at least 1")
        try require(sampling.extraSamples >= 0, ["sampling", "extra_samples"], "cannot be negative")
        try require(
            !tau.isEmpty && tau.allSatisfy { $0 > 0 && $0 <= 1 }, ["tau"],
            "list one fraction of k in (0, 1] per round, e.g. [0.5, 0.7]")
        try require(rounds >= 1, ["rounds"], "must be at least 1")
        if mode == .scpoSemi {
            try require(
                labeledFraction.map { $0 > 0 && $0 <= 1 } ?? false, ["labeled_fraction"],
                "scpo-semi needs labeled_fraction in (0, 1]")
        } else {
            try require(labeledFraction == nil, ["labeled_fraction"], "only mode scpo-semi uses it")
        }
        do { try trainer.scpo.validate() } catch { try require(false, ["trainer"], error.message) }
        try require(trainer.devCount >= 0, ["trainer", "dev_count"], "cannot be negative (0: keep the last epoch)")
        try require(
            ["train", "dev", "test"].contains(evaluation.split), ["evaluation", "split"], "one of train, dev, test")
        try require(evaluation.count >= 1, ["evaluation", "count"], "must be at least 1")
        try require(evaluation.k >= 0, ["evaluation", "k"], "must be 0 (greedy only) or more")
        try require(workers >= 1, ["workers"], "must be at least 1")
        try require(partitions >= 1, ["partitions"], "must be at least 1")
        try require(
            (1...16).contains(kafka?.replicationFactor ?? 1), ["kafka", "replication_factor"],
            "must be between 1 and 16 (and at most the number of brokers)")
        if let artifacts {
            try require(
                (artifacts.store == .directory) == (artifacts.path != nil), ["artifacts", "path"],
                "a directory store needs a path (and only a directory store takes one)")
        }
        try require(
            (5...86_400).contains(timeouts?.republishAfter ?? 60), ["timeouts", "republish_after"],
            "must be 5 to 86400 seconds")
        try require(
            (0...604_800).contains(timeouts?.outageTolerance ?? 600), ["timeouts", "outage_tolerance"],
            "must be 0 to 604800 seconds (a week)")
    }
}

private func yamlErrorLine(_ error: YamlError) -> Int? {
    switch error {
    case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
        return mark.line
    default:
        return nil
    }
}

/// Finds where a key sits in the YAML, to point errors at a line.
struct NodeLocator {
    let root: Node
    let file: String

    /// Known keys of each mapping, by path pattern (`*` for a list index).
    private static let knownKeys: [String: Set<String>] = [
        "": [
            "name", "model", "serving_format", "problems", "sampling", "tau", "rounds", "mode", "labeled_fraction",
            "trainer", "evaluation", "workers", "kafka_brokers", "postgres_url", "partitions", "kafka", "timeouts",
            "artifacts",
        ],
        "artifacts": ["store", "path"],
        "kafka": ["properties", "replication_factor"],
        "timeouts": ["republish_after", "outage_tolerance"],
        "model": ["path", "train_config", "sha256"],
        "problems.*": ["synthetic", "jsonl", "self_generated"],
        "problems.*.synthetic": [
            "seed", "count", "min_steps", "max_steps", "max_number", "max_result", "operations", "fresh_each_round",
        ],
        "problems.*.self_generated": ["count", "seed"],
        "sampling": ["k", "temperature", "top_p", "max_new_tokens", "extra_samples", "extra_temperature"],
        "trainer": PipelineSpec.Trainer.keys,
        "evaluation": ["split", "count", "k", "jsonl"],
    ]

    /// A misspelt key would silently fall back to a default: refuse it.
    func rejectUnknownKeys() throws(PipelineSpecError) {
        try visit(root, path: [])
    }

    private func visit(_ node: Node, path: [String]) throws(PipelineSpecError) {
        switch node {
        case .mapping(let mapping):
            let pattern = path.map { Int($0) == nil ? $0 : "*" }.joined(separator: ".")
            let known = Self.knownKeys[pattern]
            for (key, value) in mapping {
                guard let name = key.string else { continue }
                if let known, !known.contains(name) {
                    throw PipelineSpecError(
                        file: file, line: key.mark.map { $0.line }, field: (path + [name]).joined(separator: "."),
                        message: "unknown key; expected one of \(known.sorted().joined(separator: ", "))")
                }
                try visit(value, path: path + [name])
            }
        case .sequence(let sequence):
            for (index, element) in sequence.enumerated() { try visit(element, path: path + [String(index)]) }
        default:
            break
        }
    }

    /// The node at a path of keys and list indices.
    func node(at path: [String]) -> Node? {
        var current: Node? = root
        for component in path {
            switch current {
            case .mapping(let mapping): current = mapping[component]
            case .sequence(let sequence): current = Int(component).flatMap { $0 < sequence.count ? sequence[$0] : nil }
            default: return nil
            }
        }
        return current
    }

    /// An error at the deepest existing node along `path`.
    func error(_ path: [String], _ message: String) -> PipelineSpecError {
        var line: Int?
        for length in stride(from: path.count, through: 0, by: -1) {
            if let mark = node(at: Array(path.prefix(length)))?.mark {
                line = mark.line
                break
            }
        }
        return PipelineSpecError(file: file, line: line, field: path.joined(separator: "."), message: message)
    }

    /// Translates a decoding error into a located message.
    func error(for decodingError: DecodingError) -> PipelineSpecError {
        func keys(_ codingPath: [any CodingKey]) -> [String] {
            codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
        }
        switch decodingError {
        case .keyNotFound(let key, let context):
            return error(keys(context.codingPath), "missing required key \(key.stringValue)")
        case .typeMismatch(let type, let context):
            return error(keys(context.codingPath), "expected \(Self.describe(type)) here")
        case .valueNotFound(let type, let context):
            return error(keys(context.codingPath), "expected \(Self.describe(type)), found nothing")
        case .dataCorrupted(let context):
            let path = keys(context.codingPath)
            if path.last == "serving_format" {
                return error(
                    path,
                    "unknown format; use one of \(ServingFormat.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            if path.last == "mode" {
                return error(
                    path,
                    "unknown mode; use one of \(SCPOMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return error(path, context.debugDescription)
        @unknown default:
            return PipelineSpecError(file: file, message: "\(decodingError)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is UInt64.Type: "a whole number"
        case is Double.Type: "a number"
        case is String.Type: "text"
        case is [Double].Type: "a list of numbers"
        default: "\(type)"
        }
    }
}
