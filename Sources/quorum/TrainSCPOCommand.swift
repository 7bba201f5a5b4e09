import ArgumentParser
import Foundation
import QuorumTasks
import QuorumTraining
import QuorumVoting
import SCPO
import QuorumCore

/// `quorum train scpo`: one SCPO round's training (or a baseline's) from M_t and a pairs file.
struct TrainSCPOCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scpo",
        abstract:
            "Train M_{t+1} from M_t on preference pairs with SCPO or a baseline (irpo-gold, lmsi, scpo-unweighted).",
        discussion: """
            --pairs is the JSONL that `quorum vote --out` writes. The loss is SCPO's (Prasad et al. 2024): \
            -w*log sigmoid(beta*[(log p(y+) - log ref(y+)) - (log p(y-) - log ref(y-))]) - alpha*w*log p(y+)/|y+|, \
            averaged over the pairs of each batch; the reference is M_t itself, scored once before training. \
            Modes: scpo (weight from the vote), scpo-unweighted (w = 1), irpo-gold (gold pairs only, w = 1), \
            lmsi (length-normalised NLL of the chosen response only). After every epoch the model is evaluated \
            (greedy, or majority-of-k with --dev-k) on --dev-count labeled dev problems and saved to OUT/epoch-N; OUT itself gets the \
            best epoch's weights, tokenizer.json, M_t's training_record.json (so the prompt format carries over; its \
            "produced_by" and "later_runs" say this run wrote the weights), \
            scpo_record.json (the run: losses, reward margins, chosen/rejected log-probs, dev accuracy per epoch) \
            and reference_logprobs.jsonl (each pair's log M_t of its responses). Progress goes to standard error.
            """)

    @Option(help: "The checkpoint folder of M_t (written by `quorum train sft` or a previous round).")
    var model: String
    @Option(help: "The preference pairs (JSONL from `quorum vote --out`).")
    var pairs: String
    @Option(help: "The checkpoint folder to write (best epoch at the top, every epoch in epoch-N).")
    var out: String
    @Flag(help: "Replace a checkpoint already in --out.")
    var force = false

    @Option(help: "scpo, scpo-unweighted, irpo-gold or lmsi.") var mode = SCPOMode.scpo
    @Option(help: "Passes over the pairs (paper: 10).") var epochs = 10
    @Option(help: "Peak learning rate (paper: 5e-6 for an 8B model; small models need more).") var lr = 1e-5
    @Option(help: "Learning rate at the end of the cosine decay.") var minLR = 0.0
    @Option(help: "Fraction of the steps spent warming up.") var warmupFraction = 0.1
    @Option(help: "Pairs per optimiser step (effective batch; paper: 16).") var batch = 16
    @Option(help: "Pairs per forward/backward pass (accumulated up to --batch).") var microBatch = 8
    @Option(help: "beta of the implicit reward (paper: 0.5).") var beta = 0.5
    @Option(help: "alpha, the NLL coefficient (paper: 1).") var alpha = 1.0
    @Option(help: "Global gradient-norm clipping (0: off).") var clip = 1.0
    @Option(help: "AdamW weight decay.") var weightDecay = 0.0
    @Option(help: "Seed of the epoch shuffles.") var seed: UInt64 = 0
    @Option(help: "Labeled dev problems for choosing the epoch (0: keep the last epoch).") var devCount = 200
    @Option(help: "Dev problems from this JSONL instead of the generated dev split.") var dev: String?
    @Option(help: "Most tokens per dev answer.") var maxNewTokens = 160
    @Option(help: "Choose the epoch by greedy accuracy (0) or by majority-of-k accuracy (k > 0; k times slower).")
    var devK = 0
    @Flag(help: "Keep M_t itself when no epoch beats its dev metric (best epoch 0).") var keepStart = false
    @Flag(help: "Print the training record as JSON on standard output.") var json = false
    @Flag(help: "No progress on standard error.") var quiet = false

    func validate() throws {
        do { try settings.validate() } catch { throw ValidationError(error.message) }
        guard devCount >= 0, devK >= 0, maxNewTokens >= 8 else {
            throw ValidationError("--dev-count and --dev-k must be 0 or more and --max-new-tokens at least 8")
        }
    }

    /// The trainer's settings from the flags.
    var settings: SCPOConfig {
        var c = SCPOConfig()
        c.mode = mode
        c.epochs = epochs
        c.lr = lr
        c.minLR = minLR
        c.warmupFraction = warmupFraction
        c.batch = batch
        c.microBatch = microBatch
        c.beta = beta
        c.alpha = alpha
        c.clip = clip
        c.weightDecay = weightDecay
        c.seed = seed
        c.keepStartUnlessBeaten = keepStart
        return c
    }

    func run() async throws {
        let options = self
        if !force, FileManager.default.fileExists(atPath: out + "/model.safetensors") {
            throw ValidationError(
                "\(out) already holds a checkpoint; pass --force to replace it or choose another --out")
        }
        let pairsData: Data
        do { pairsData = try Data(contentsOf: URL(fileURLWithPath: pairs)) } catch {
            throw CommandFailure("cannot read \(pairs): \(error.localizedDescription); check the path")
        }
        let preferencePairs: [PreferencePair]
        do { preferencePairs = try PairsJSONL.decodePairs(pairsData) } catch {
            throw CommandFailure("\(pairs) \(error.message)")
        }
        let record = try await runOnDedicatedThread { () throws -> SCPORecord in
            try options.train(preferencePairs)
        }
        if json {
            try printJSON(record)
        } else {
            print(record.summary(out: out))
        }
    }

    /// The whole run, on the calling (dedicated) thread: flags → settings → ``SCPORound``.
    private func train(_ preferencePairs: [PreferencePair]) throws -> SCPORecord {
        let progress = { (line: String) in if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) } }
        progress("loading M_t from \(model)")
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.load(directory: model) } catch { throw CommandFailure(error.message) }
        let round = SCPORound(config: settings, dev: try devSplit(record: checkpoint.record))
        var result: SCPORoundResult
        do {
            result = try round.train(
                from: checkpoint, pairs: preferencePairs, epochFolders: out,
                sourceModel: URL(fileURLWithPath: model).standardizedFileURL.path,
                progress: { progress($0.description) })
        } catch let error as SCPOError {
            throw CommandFailure("\(pairs): \(error.message)")
        }
        result.record.pairsFile = URL(fileURLWithPath: pairs).standardizedFileURL.path
        try SCPORound.save(result, directory: out, referenceLogProbs: true)
        return result.record
    }

    /// The dev split: `--dev` (its first `--dev-count` problems), or the generated dev split with
    /// M_t's generator settings and data seed (as `quorum train sft` evaluated on); nil with `--dev-count 0`.
    private func devSplit(record: TrainingRecord?) throws -> SCPODevSplit? {
        guard devCount > 0 else { return nil }
        guard let dev else {
            do { return try .generated(for: record, count: devCount, k: devK, maxNewTokens: maxNewTokens) } catch {
                throw CommandFailure("\(error)")
            }
        }
        do {
            let problems = try ProblemJSONL.read(from: URL(fileURLWithPath: dev)).prefix(devCount)
            return SCPODevSplit(problems: Array(problems), k: devK, maxNewTokens: maxNewTokens)
        } catch {
            throw CommandFailure("cannot read dev problems from \(dev): \(error)")
        }
    }
}
