import Foundation
public import QuorumTasks

/// The problems a model command works on (`quorum eval`, `quorum task sample`): the first `count`
/// rows of a JSONL file, or `count` problems of a split generated with the knobs a checkpoint was
/// trained with, each knob overridable.
public struct ProblemSelection: Sendable {
    /// Generator knobs that replace the checkpoint's; nil keeps the checkpoint's (or the default).
    public struct Overrides: Sendable {
        public var dataSeed: UInt64?
        public var minSteps: Int?
        public var maxSteps: Int?
        public var maxNumber: Int?
        public var maxResult: Int?
        public var operations: String?

        /// Overrides of the given knobs.
        public init(
            dataSeed: UInt64? = nil, minSteps: Int? = nil, maxSteps: Int? = nil, maxNumber: Int? = nil,
            maxResult: Int? = nil, operations: String? = nil
        ) {
            self.dataSeed = dataSeed
            self.minSteps = minSteps
            self.maxSteps = maxSteps
            self.maxNumber = maxNumber
            self.maxResult = maxResult
            self.operations = operations
        }
    }

    /// A JSONL file of problems to read instead of generating.
    public var file: String?
    /// How many problems.
    public var count: Int
    /// The split to generate.
    public var split: DataSplit
    /// Knobs that replace the checkpoint's.
    public var overrides: Overrides

    /// A selection.
    public init(file: String?, count: Int, split: DataSplit, overrides: Overrides = Overrides()) {
        self.file = file
        self.count = count
        self.split = split
        self.overrides = overrides
    }

    /// The problems, for a checkpoint trained as `record` says (nil: generator defaults, data seed 1).
    ///
    /// - Throws: ``TrainingError`` saying which file cannot be read or which knob is invalid.
    public func problems(record: TrainingRecord?) throws -> [Problem] {
        if let file {
            do { return Array(try ProblemJSONL.read(from: URL(fileURLWithPath: file)).prefix(count)) } catch {
                throw TrainingError("cannot read problems from \(file): \(error)")
            }
        }
        let trained = record?.config
        let config = GeneratorConfig(
            minSteps: overrides.minSteps ?? trained?.minSteps ?? 1, maxSteps: overrides.maxSteps ?? trained?.maxSteps ?? 4,
            maxNumber: overrides.maxNumber ?? trained?.maxNumber ?? 50,
            maxResult: overrides.maxResult ?? trained?.maxResult, operations: overrides.operations ?? trained?.operations)
        do {
            return try ProblemGenerator(config: config).generate(
                split: split, count: count, seed: overrides.dataSeed ?? trained?.dataSeed ?? 1)
        } catch let error as TaskError {
            throw TrainingError(error.message)
        }
    }
}

/// The texts of a tokenizer-training corpus: each problem's question and solution from a `.jsonl`
/// file of problems, else each line of a text file.
public enum TokenizerCorpus {
    /// Reads the corpus at `path`.
    ///
    /// - Throws: ``TrainingError`` saying what is wrong with the file and what to do.
    public static func read(_ path: String) throws -> [String] {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TrainingError("cannot read the corpus \(path): check the path (\(error.localizedDescription))")
        }
        let texts: [String]
        if url.pathExtension.lowercased() == "jsonl" {
            do { texts = try ProblemJSONL.decode(data).map { $0.question + "\n" + $0.solution } } catch let error
                as TaskError
            {
                throw TrainingError("\(path): \(error.message); or pass a .txt corpus")
            }
        } else {
            texts = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        guard !texts.isEmpty else { throw TrainingError("the corpus \(path) holds no text") }
        return texts
    }
}
