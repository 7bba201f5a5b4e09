import Foundation
public import QuorumModel
public import QuorumTensor
public import QuorumTokenizer
public import QuorumTraining

/// Draws k answers per question: what a worker needs from a model.
public protocol ResponseSampler: Sendable {
    /// Samples `k` responses for each question, at `temperature` / `topP`. Sample `j` of a problem
    /// draws from a random stream fixed by (`seed`, problem id, `j`), so the same problem gives the
    /// same samples whichever worker or batch draws it.
    func sample(
        _ problems: [(id: String, question: String)], k: Int, temperature: Double, topP: Double, seed: UInt64
    ) async throws -> [[String]]
}

/// Samples from a Quorum model — the fp32 ``LlamaModel`` or a quantized serving model (any
/// ``TokenGenerator``) — with its tokenizer and prompt format.
///
/// The model is not thread-safe and blocks while it uses every core, so all calls run one at a
/// time on the sampler's own thread.
public final class ModelSampler: ResponseSampler, @unchecked Sendable {
    // @unchecked: `model` is only touched on `queue`, one call at a time.
    private let model: any TokenGenerator
    private let tokenizer: BPETokenizer
    private let format: PromptFormat
    private let maxNewTokens: Int
    private let maxBatchSize: Int
    private let queue = DispatchQueue(label: "quorum.sampler")

    /// Wraps a loaded fp32 model.
    public convenience init(
        model: LlamaModel<Float>, tokenizer: BPETokenizer, format: PromptFormat = .standard, maxNewTokens: Int,
        maxBatchSize: Int = 64
    ) {
        self.init(
            generator: model, tokenizer: tokenizer, format: format, maxNewTokens: maxNewTokens,
            maxBatchSize: maxBatchSize)
    }

    /// Wraps any generator, e.g. `ServingModel(model:format:)` for a quantized serving format. Samples of
    /// one problem share their prompt's prefix when the generator supports it (the serving model does).
    public init(
        generator: any TokenGenerator, tokenizer: BPETokenizer, format: PromptFormat = .standard, maxNewTokens: Int,
        maxBatchSize: Int = 64
    ) {
        self.model = generator
        self.tokenizer = tokenizer
        self.format = format
        self.maxNewTokens = maxNewTokens
        self.maxBatchSize = maxBatchSize
    }

    public func sample(
        _ problems: [(id: String, question: String)], k: Int, temperature: Double, topP: Double, seed: UInt64
    ) async throws -> [[String]] {
        let (prompts, streams) = format.samplePrompts(problems, k: k, tokenizer: tokenizer)
        let parameters = SamplingParameters(
            temperature: temperature, topP: topP, maxNewTokens: maxNewTokens, seed: seed)
        let (allPrompts, allStreams) = (prompts, streams)
        let generations: [Generation] = await withCheckedContinuation { continuation in
            queue.async { [self] in
                continuation.resume(
                    returning: model.generate(
                        prompts: allPrompts, parameters: parameters, streams: allStreams,
                        eosTokenId: tokenizer.eosID.map(Int.init), maxBatchSize: maxBatchSize,
                        stop: { _, tokens in self.format.isFinished(tokens, tokenizer: self.tokenizer) }))
            }
        }
        let texts = generations.map { format.responseText($0.tokens, tokenizer: tokenizer) }
        return (0..<problems.count).map { Array(texts[($0 * k)..<(($0 + 1) * k)]) }
    }
}
