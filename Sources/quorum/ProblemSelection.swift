import ArgumentParser
import Foundation
import QuorumTasks
import QuorumTraining

/// The problems a model command works on (`quorum eval`, `quorum task sample`): the first `count`
/// rows of a JSONL file, or `count` problems of `split` generated with the checkpoint's knobs unless
/// the flags override them.
func selectProblems(
    file: String?, count: Int, split: String, dataSeed: UInt64?, minSteps: Int?, maxSteps: Int?, maxNumber: Int?,
    record: TrainingRecord?
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
        minSteps: minSteps ?? trained?.minSteps ?? 1, maxSteps: maxSteps ?? trained?.maxSteps ?? 4,
        maxNumber: maxNumber ?? trained?.maxNumber ?? 50)
    do {
        return try ProblemGenerator(config: config).generate(
            split: dataSplit, count: count, seed: dataSeed ?? trained?.dataSeed ?? 1)
    } catch let error as TaskError {
        throw ValidationError(error.message)
    }
}
