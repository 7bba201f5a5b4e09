import QuorumCore
/// Anything that continues prompts token by token: the fp32 ``LlamaModel`` and QuorumServing's
/// quantized serving model. Evaluation and the worker's sampler take one, so they run any format.
///
/// - Important: implementations are not thread-safe; one call at a time, from a dedicated thread
///   (calls block and use every core).
public protocol TokenGenerator: AnyObject {
    /// The model's shape (its context length caps prompt + generation).
    var config: LlamaConfig { get }

    /// Continues every prompt. Sample `i` draws from `SplitMix64(parameters.seed, stream: streams[i])`
    /// (default stream: `i`), so a sample does not depend on batching. A sequence stops at `eosTokenId`
    /// (default: the config's; kept as its last token), when `stop(i, tokensSoFar)` says so, or after
    /// `parameters.maxNewTokens`. Up to `maxBatchSize` sequences decode together.
    func generate(
        prompts: [[Int]], parameters: SamplingParameters, streams: [UInt64]?, eosTokenId: Int?, maxBatchSize: Int,
        stop: (_ index: Int, _ generated: [Int]) -> Bool
    ) -> [Generation]
}

extension LlamaModel: TokenGenerator where T == Float {}

extension Generation {
    /// A continuation (for generators outside this module; the memberwise initializer is internal).
    public init(_ tokens: [Int], finish: FinishReason) {
        self.tokens = tokens
        self.finish = finish
    }
}
