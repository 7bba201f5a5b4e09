import Dispatch
import QuorumModel
public import QuorumTasks
import QuorumTensor
import QuorumTokenizer
import QuorumCore

/// What a training run reports while it works.
public enum SFTEvent: Sendable {
    /// A preparation stage began (generating problems, training the tokenizer, …).
    case stage(String)
    /// An optimiser step finished.
    case step(SFTStepReport)
    /// A dev evaluation finished.
    case evaluation(TrainingRecord.DevEvaluation)
}

/// One optimiser step's numbers, for progress displays.
public struct SFTStepReport: Sendable, Codable, Equatable {
    /// Steps done (1-based).
    public var step: Int
    /// Steps in the run.
    public var totalSteps: Int
    /// This step's mean response-token cross-entropy.
    public var loss: Double
    /// An exponential moving average of the loss (smoothing 0.95, bias-corrected), steadier to read.
    public var smoothedLoss: Double
    /// The learning rate used.
    public var learningRate: Double
    /// Gradient norm before clipping.
    public var gradientNorm: Double
    /// Training tokens per second so far (optimiser steps only).
    public var tokensPerSecond: Double
    /// Seconds of training so far (evaluations excluded).
    public var elapsedSeconds: Double
    /// Estimated seconds of training left (evaluations excluded).
    public var etaSeconds: Double
    /// Passes over the training data begun.
    public var epoch: Int
    /// The quantization scheme of this step (`b1.58`, `a4.8`), `nil` in floating point.
    public var quantization: String? = nil
}

/// One stage of quantization-aware training, as the training record lists it.
public struct QuantizationStage: Sendable, Codable, Equatable {
    /// `b1.58` or `a4.8`.
    public var scheme: String
    /// First and last optimiser step of the stage (1-based, inclusive).
    public var firstStep: Int
    public var lastStep: Int
    /// Training tokens per second during the stage.
    public var tokensPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case scheme, firstStep = "first_step", lastStep = "last_step", tokensPerSecond = "tokens_per_second"
    }
}

/// Supervised fine-tuning from scratch (the seed model M0): question → solution, loss on the
/// solution tokens only, AdamW with warm-up and cosine decay, gradient clipping and accumulation,
/// periodic dev evaluation.
///
/// - Important: ``run(progress:)`` blocks its thread for the whole run and uses every core; call it
///   from a dedicated thread (see ``runOnDedicatedThread(_:)``), not from Swift's cooperative pool.
public struct SFTTrainer: Sendable {
    /// The run's settings.
    public var config: SFTConfig
    /// The prompt format of the examples.
    public var format: PromptFormat

    /// A trainer; the configuration is validated when the run starts.
    public init(config: SFTConfig, format: PromptFormat = .standard) {
        self.config = config
        self.format = format
    }

    /// Generates the configured train and dev problems, then trains (see ``run(train:dev:progress:)``).
    ///
    /// - Throws: ``TrainingError`` when the configuration is invalid or the generator runs out of problems.
    public func run(progress: (SFTEvent) -> Void = { _ in }) throws(TrainingError) -> Checkpoint {
        try config.validate()
        let start = DispatchTime.now().uptimeNanoseconds
        progress(.stage("generating \(config.trainCount) train and \(config.devCount) dev problems"))
        let train: [VariedProblem]
        let dev: [Problem]
        do {
            let generator = try ProblemGenerator(config: config.generator)
            train = try generator.generateVaried(
                split: .train, count: config.trainCount, seed: config.dataSeed, variants: config.solutionVariants,
                style: VariantStyle(rawValue: config.variantStyle) ?? .mixed, plans: config.planVariations)
            dev = try generator.generate(split: .dev, count: config.devCount, seed: config.dataSeed)
        } catch let error as TaskError {
            throw TrainingError(error.message)
        } catch {
            throw TrainingError("cannot generate problems: \(error)")
        }
        let dataSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return try run(
            train: train.map(\.problem), dev: dev, solutions: train.map(\.trainingSolutions), dataSeconds: dataSeconds,
            progress: progress)
    }

    /// Trains a tokenizer and a fresh model on `train`, evaluating on `dev` every
    /// ``SFTConfig/evalEvery`` steps and at the end; returns the checkpoint with its record.
    ///
    /// `solutions[i]`, when given, lists valid solutions of `train[i]`: each time the problem is
    /// drawn for a batch, one of them is picked at random instead of `train[i].solution`.
    ///
    /// - Throws: ``TrainingError`` when the configuration is invalid or an example does not fit
    ///   ``SFTConfig/maxPositions``.
    public func run(
        train: [Problem], dev: [Problem], solutions: [[String]]? = nil, dataSeconds: Double = 0,
        progress: (SFTEvent) -> Void = { _ in }
    ) throws(TrainingError) -> Checkpoint {
        try config.validate()
        guard !train.isEmpty else { throw TrainingError("there are no training problems") }
        if let solutions {
            guard solutions.count == train.count, solutions.allSatisfy({ !$0.isEmpty }) else {
                throw TrainingError("solutions must list at least one solution for each of the \(train.count) problems")
            }
        }
        let started = timestamp()
        let loadStart = currentLoadAverage()
        let clockStart = DispatchTime.now().uptimeNanoseconds - UInt64(dataSeconds * 1e9)

        // Tokenizer and examples.
        let tokenizerStart = DispatchTime.now().uptimeNanoseconds
        let corpusProblems = config.tokenizerProblems > 0 ? Array(train.prefix(config.tokenizerProblems)) : train
        progress(.stage("training a \(config.vocabSize)-id tokenizer on \(corpusProblems.count) problems"))
        let tokenizer: BPETokenizer
        do {
            tokenizer = try SFTData.trainTokenizer(
                on: corpusProblems, vocabSize: config.vocabSize,
                pattern: PreTokenizer.Pattern(rawValue: config.pretokenizer)!, format: format)
        } catch {
            throw TrainingError("cannot train the tokenizer: \(error)")
        }
        progress(.stage("tokenizing \(train.count + dev.count) problems"))
        var swapRNG = SplitMix64(seed: config.seed, stream: 0x5A7)
        let trainProblems =
            config.swapOperands > 0
            ? train.map { problem in
                var varied = problem
                varied.solution = SFTData.swappingOperands(
                    problem.solution, probability: config.swapOperands, rng: &swapRNG)
                return varied
            } : train
        let examples = SFTData.examples(trainProblems, tokenizer: tokenizer, format: format)
        let devExamples = SFTData.examples(dev, tokenizer: tokenizer, format: format)
        // The other solutions, tokenized once (the prompt is shared with `examples`).
        // A list that is just the problem's own solution uses `examples`; a list may also leave it out.
        let variantResponses: [[[Int]]]? = solutions.flatMap { lists in
            zip(lists, train).allSatisfy { $0 == [$1.solution] }
                ? nil
                : zip(lists, zip(train, examples)).map { list, pair in
                    list.map {
                        $0 == pair.0.solution
                            ? pair.1.response : format.responseTokens(solution: $0, tokenizer: tokenizer)
                    }
                }
        }
        let longestVariant = variantResponses.map { lists in
            zip(lists, examples).map { list, example in example.prompt.count + list.map(\.count).max()! }.max() ?? 0
        }
        let longest = max((examples + devExamples).map(\.count).max() ?? 0, longestVariant ?? 0)
        guard longest <= config.maxPositions else {
            throw TrainingError(
                "the longest example has \(longest) tokens, more than max_positions (\(config.maxPositions)); "
                    + "raise max_positions or lower max_steps / max_number")
        }
        let tokenizerSeconds = Double(DispatchTime.now().uptimeNanoseconds - tokenizerStart) / 1e9

        // Model and optimiser.
        let shape = config.llamaConfig(
            vocabulary: tokenizer.vocabSize, bos: tokenizer.bosID.map(Int.init), eos: tokenizer.eosID.map(Int.init))
        let model: LlamaModel<Float>
        do { model = try LlamaModel<Float>(config: shape, seed: config.seed) } catch {
            throw TrainingError("invalid model shape: \(error)")
        }
        let optimizer = AdamW(
            model: model, settings: AdamW<Float>.Settings(beta2: config.beta2, weightDecay: config.weightDecay))
        let schedule = LearningRateSchedule(
            peak: config.lr, minimum: config.minLR, warmupSteps: config.warmup, totalSteps: config.steps)
        progress(
            .stage(
                "training \(model.parameterCount) parameters for \(config.steps) steps of "
                    + "\(config.batch)×\(config.gradAccum) sequences"))
        // Quantization-aware training: the stages' schemes switch on the same model and optimiser.
        let stages = config.quantStages
        var stageRecords: [QuantizationStage] = []
        var stageTokens = 0
        var stageNanos: UInt64 = 0

        var sampler = EpochSampler(exampleCount: examples.count, batchSize: config.batch, seed: config.seed)
        var variantRNG = SplitMix64(seed: config.seed, stream: 0x7A1)
        func example(_ index: Int) -> SFTExample {
            guard let variants = variantResponses?[index] else { return examples[index] }
            guard variants.count > 1 else { return SFTExample(prompt: examples[index].prompt, response: variants[0]) }
            let pick = Int(variantRNG.next() % UInt64(variants.count))
            return SFTExample(prompt: examples[index].prompt, response: variants[pick])
        }
        var best: (margin: Double, step: Int, weights: [Float], scheme: QuantizationScheme?)?
        var losses: [Double] = []
        var norms: [Double] = []
        var evaluations: [TrainingRecord.DevEvaluation] = []
        var trainNanos: UInt64 = 0
        var evalNanos: UInt64 = 0
        var tokens = 0
        var average = 0.0
        for step in 0..<config.steps {
            if let index = stages.firstIndex(where: { $0.steps.lowerBound == step }) {
                let stage = stages[index]
                do { try model.setQuantization(stage.scheme) } catch {
                    throw TrainingError("cannot switch to quantization \(stage.scheme.rawValue): \(error)")
                }
                progress(
                    .stage(
                        "QAT stage \(index + 1)/\(stages.count): \(stage.scheme.rawValue) for steps "
                            + "\(stage.steps.lowerBound + 1)–\(stage.steps.upperBound)"
                            + (index > 0 ? ", continuing with the same AdamW state" : "")
                            + " (\(stage.scheme.summary))"))
                stageTokens = 0
                stageNanos = 0
            }
            let stepStart = DispatchTime.now().uptimeNanoseconds
            let tokensBefore = tokens
            model.zeroGradients()
            var loss = 0.0
            for _ in 0..<config.gradAccum {
                let batch = sampler.next().map { example($0) }
                tokens += batch.reduce(0) { $0 + $1.count }
                let pass = model.forward(SFTData.batch(batch))
                loss += Double(model.backwardCrossEntropy(pass, scale: 1 / Float(config.gradAccum)))
            }
            loss /= Double(config.gradAccum)
            let norm = config.clip > 0 ? model.clipGradients(maxNorm: config.clip) : model.gradientNorm()
            let lr = schedule.rate(at: step)
            optimizer.update(model, lr: lr)
            let stepNanos = DispatchTime.now().uptimeNanoseconds - stepStart
            trainNanos += stepNanos
            if let scheme = model.quantization, let stage = stages.first(where: { $0.steps.contains(step) }) {
                stageTokens += tokens - tokensBefore
                stageNanos += stepNanos
                if step == stage.steps.upperBound - 1 {
                    stageRecords.append(
                        QuantizationStage(
                            scheme: scheme.rawValue, firstStep: stage.steps.lowerBound + 1, lastStep: step + 1,
                            tokensPerSecond: Double(stageTokens) / max(Double(stageNanos) / 1e9, 1e-9)))
                }
            }
            losses.append(loss)
            norms.append(norm)
            average = 0.95 * average + 0.05 * loss
            let done = step + 1
            let elapsed = Double(trainNanos) / 1e9
            progress(
                .step(
                    SFTStepReport(
                        step: done, totalSteps: config.steps, loss: loss,
                        smoothedLoss: average / (1 - Math.pow(0.95, Double(done))), learningRate: lr,
                        gradientNorm: norm, tokensPerSecond: Double(tokens) / max(elapsed, 1e-9),
                        elapsedSeconds: elapsed,
                        etaSeconds: elapsed / Double(done) * Double(config.steps - done), epoch: sampler.epoch,
                        quantization: model.quantization?.rawValue)))
            let periodic = config.evalEvery > 0 && done % config.evalEvery == 0
            if !dev.isEmpty && (periodic || done == config.steps) {
                let evalStart = DispatchTime.now().uptimeNanoseconds
                let evaluation = evaluateDev(
                    model: model, tokenizer: tokenizer, dev: dev, devExamples: devExamples, step: done)
                evalNanos += DispatchTime.now().uptimeNanoseconds - evalStart
                evaluations.append(evaluation)
                progress(.evaluation(evaluation))
                if config.select == "margin", let majority = evaluation.majorityAccuracy,
                    evaluation.greedyAccuracy >= config.selectMinGreedy
                {
                    let margin = majority - evaluation.greedyAccuracy
                    if best == nil || margin >= best!.margin {
                        best = (
                            margin, done,
                            Array(UnsafeBufferPointer(start: model.parameters.pointer, count: model.parameterCount)),
                            model.quantization
                        )
                    }
                }
            }
        }
        var selectedStep: Int?
        if let best, best.step != config.steps {
            best.weights.withUnsafeBufferPointer {
                model.parameters.pointer.update(from: $0.baseAddress!, count: model.parameterCount)
            }
            // The kept weights were trained under the QAT scheme of their step (stage 1 of a4.8 is b1.58);
            // setting it also re-derives the ternary copy from the restored latent weights.
            do { try model.setQuantization(best.scheme) } catch {
                throw TrainingError("cannot restore quantization \(best.scheme?.rawValue ?? "none"): \(error)")
            }
            selectedStep = best.step
            progress(
                .stage(
                    "keeping the weights of step \(best.step) (largest dev majority-minus-greedy margin, "
                        + "\((100 * best.margin).rounded()) points)"))
        }

        let trainSeconds = Double(trainNanos) / 1e9
        let timings = TrainingRecord.Timings(
            dataSeconds: dataSeconds, tokenizerSeconds: tokenizerSeconds, trainSeconds: trainSeconds,
            evalSeconds: Double(evalNanos) / 1e9,
            totalSeconds: Double(DispatchTime.now().uptimeNanoseconds - clockStart) / 1e9, tokens: tokens,
            tokensPerSecond: Double(tokens) / max(trainSeconds, 1e-9), loadAverageStart: loadStart,
            loadAverageEnd: currentLoadAverage())
        let record = TrainingRecord(
            kind: "sft", formatVersion: 1, config: config, promptFormat: format, model: model.config,
            parameters: model.parameterCount, vocabulary: tokenizer.vocabSize, trainExamples: examples.count,
            meanExampleTokens: Double(examples.reduce(0) { $0 + $1.count }) / Double(examples.count), losses: losses,
            gradientNorms: norms, evaluations: evaluations, selectedStep: selectedStep, timings: timings,
            started: started, finished: timestamp(), quantStages: stages.isEmpty ? nil : stageRecords)
        return Checkpoint(model: model, tokenizer: tokenizer, record: record)
    }

    /// Dev loss (response tokens) and greedy accuracy.
    private func evaluateDev(
        model: LlamaModel<Float>, tokenizer: BPETokenizer, dev: [Problem], devExamples: [SFTExample], step: Int
    ) -> TrainingRecord.DevEvaluation {
        let start = DispatchTime.now().uptimeNanoseconds
        var lossSum = 0.0
        var scored = 0
        for first in stride(from: 0, to: devExamples.count, by: 32) {
            let slice = devExamples[first..<min(devExamples.count, first + 32)]
            let pass = model.forward(SFTData.batch(slice))
            let count = pass.scoredCounts.reduce(0, +)
            lossSum += Double(pass.meanCrossEntropy) * Double(count)
            scored += count
        }
        let evaluator = Evaluator(
            model: model, tokenizer: tokenizer, format: format, maxNewTokens: config.maxNewTokens)
        let greedy: Double
        var majority: Double?
        if config.devK > 0 {
            let result = evaluator.evaluate(dev, k: config.devK).result
            greedy = result.greedyAccuracy
            majority = result.majorityAccuracy
        } else {
            let answers = evaluator.greedyAnswers(dev.map(\.question)).answers
            let correct = zip(answers, dev).reduce(0) { total, pair in
                total + (pair.0 != nil && pair.0 == AnswerExtractor.normalize(pair.1.answer) ? 1 : 0)
            }
            greedy = Double(correct) / Double(dev.count)
        }
        return TrainingRecord.DevEvaluation(
            step: step, loss: lossSum / Double(max(scored, 1)), greedyAccuracy: greedy, count: dev.count,
            seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, majorityAccuracy: majority,
            k: config.devK > 0 ? config.devK : nil)
    }
}
