import ArgumentParser
import Foundation
import QuorumTasks
import QuorumTraining

/// The generator knobs of a model command (`quorum eval`, `quorum task sample`); each one left out
/// is the checkpoint's.
struct GeneratorOptions: ParsableArguments {
    @Option(help: "Generator seed (default: the checkpoint's data seed).") var dataSeed: UInt64?
    @Option(help: "Fewest reasoning steps (default: the checkpoint's).") var minSteps: Int?
    @Option(help: "Most reasoning steps (default: the checkpoint's).") var maxSteps: Int?
    @Option(help: "Largest basic number (default: the checkpoint's).") var maxNumber: Int?
    @Option(help: "Largest result (default: the checkpoint's; without one, ten times the largest basic number).")
    var maxResult: Int?
    @Option(help: "Operations the problems may use, e.g. +-* for no division (default: the checkpoint's).")
    var operations: String?
}

/// The problems a model command works on (`quorum eval`, `quorum task sample`): the first `count`
/// rows of a JSONL file, or `count` problems of `split` generated with the checkpoint's knobs unless
/// `knobs` override them.
func selectProblems(
    file: String?, count: Int, split: String, knobs: GeneratorOptions, record: TrainingRecord?
) throws -> [Problem] {
    if let file {
        do {
            return Array(try ProblemJSONL.read(from: URL(fileURLWithPath: file)).prefix(count))
        } catch {
            throw ValidationError("cannot read problems from \(file): \(error)")
        }
    }
    guard let dataSplit = DataSplit(rawValue: split) else {
        throw ValidationError("unknown split \"\(split)\": use train, dev or test")
    }
    let trained = record?.config
    let config = GeneratorConfig(
        minSteps: knobs.minSteps ?? trained?.minSteps ?? 1, maxSteps: knobs.maxSteps ?? trained?.maxSteps ?? 4,
        maxNumber: knobs.maxNumber ?? trained?.maxNumber ?? 50, maxResult: knobs.maxResult ?? trained?.maxResult,
        operations: knobs.operations ?? trained?.operations)
    do {
        return try ProblemGenerator(config: config).generate(
            split: dataSplit, count: count, seed: knobs.dataSeed ?? trained?.dataSeed ?? 1)
    } catch let error as TaskError {
        throw ValidationError(error.message)
    }
}
