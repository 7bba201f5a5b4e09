import ArgumentParser
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

extension GeneratorOptions {
    /// The problems of a model command: the first `count` rows of `file`, or `count` problems of
    /// `split` generated with the checkpoint's knobs where these flags leave them out.
    func selection(file: String?, count: Int, split: DataSplit) -> ProblemSelection {
        ProblemSelection(
            file: file, count: count, split: split,
            overrides: .init(
                dataSeed: dataSeed, minSteps: minSteps, maxSteps: maxSteps, maxNumber: maxNumber, maxResult: maxResult,
                operations: operations))
    }
}
