public import QuorumModel
public import QuorumTasks
import QuorumTensor
public import QuorumTokenizer
public import QuorumCore

/// One supervised example: a prompt (not scored) and the response the model learns (scored).
public struct SFTExample: Sendable, Hashable {
    /// Prompt tokens (BOS, question, answer prefix).
    public var prompt: [Int]
    /// Response tokens (solution lines, `#### N`, EOS): the only tokens that carry loss.
    public var response: [Int]

    /// An example from its token ids.
    public init(prompt: [Int], response: [Int]) {
        self.prompt = prompt
        self.response = response
    }

    /// Prompt and response together.
    public var count: Int { prompt.count + response.count }
}

/// Turning problems into supervised examples and micro-batches.
public enum SFTData {
    /// The examples of `problems` in `format`.
    public static func examples(
        _ problems: [Problem], tokenizer: BPETokenizer, format: PromptFormat = .standard
    ) -> [SFTExample] {
        problems.map {
            let (prompt, response) = format.example(for: $0, tokenizer: tokenizer)
            return SFTExample(prompt: prompt, response: response)
        }
    }

    /// `solution` with the operands of each `a + b =` / `a * b =` swapped with probability
    /// `probability` (commutative, so every line stays true), drawn from `rng`.
    public static func swappingOperands(
        _ solution: String, probability: Double, rng: inout SplitMix64
    ) -> String {
        guard probability > 0 else { return solution }
        let lines = solution.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var words = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            var i = 0
            while i + 3 < words.count {
                let (a, op, b, eq) = (words[i], words[i + 1], words[i + 2], words[i + 3])
                if op == "+" || op == "*", eq == "=", !a.isEmpty, !b.isEmpty,
                    a.allSatisfy(\.isNumber), b.allSatisfy(\.isNumber)
                {
                    if rng.nextUniform() < probability { words.swapAt(i, i + 2) }
                    i += 4
                } else {
                    i += 1
                }
            }
            return words.joined(separator: " ")
        }
        return lines.joined(separator: "\n")
    }

    /// A model batch of `examples` whose loss covers the response tokens only (prompt tokens are
    /// inputs, never targets).
    public static func batch(_ examples: some Collection<SFTExample>) -> TokenBatch {
        TokenBatch(prompts: examples.map(\.prompt), responses: examples.map(\.response))
    }

    /// The texts a tokenizer for this task learns from: each problem's prompt text and solution.
    public static func tokenizerCorpus(
        _ problems: some Sequence<Problem>, format: PromptFormat = .standard
    ) -> [String] {
        problems.flatMap { [format.promptText(question: $0.question), $0.solution] }
    }

    /// Trains the task's byte-level BPE tokenizer (BOS/EOS/PAD as added tokens).
    public static func trainTokenizer(
        on problems: some Sequence<Problem>, vocabSize: Int, pattern: PreTokenizer.Pattern,
        format: PromptFormat = .standard
    ) throws -> BPETokenizer {
        try BPETokenizer.train(
            corpus: tokenizerCorpus(problems, format: format), vocabSize: vocabSize,
            preTokenizer: PreTokenizer(pattern: pattern))
    }
}

/// An endless, reproducible stream of micro-batches: the examples shuffled by a seed, epoch after
/// epoch (a new permutation each epoch), cut into groups of `batchSize`; the last short group of an
/// epoch is dropped so every micro-batch has the same number of sequences.
public struct EpochSampler: Sendable {
    /// How many examples there are.
    public let exampleCount: Int
    /// Sequences per micro-batch (at most `exampleCount`).
    public let batchSize: Int
    private var rng: SplitMix64
    private var order: [Int] = []
    private var cursor = 0
    /// Passes over the data begun (1 during the first).
    public private(set) var epoch = 0

    /// A sampler over `exampleCount` examples.
    public init(exampleCount: Int, batchSize: Int, seed: UInt64) {
        precondition(exampleCount > 0 && batchSize > 0)
        self.exampleCount = exampleCount
        self.batchSize = min(batchSize, exampleCount)
        rng = SplitMix64(seed: seed, stream: 0x5F7)
        reshuffle()
    }

    private mutating func reshuffle() {
        order = Array(0..<exampleCount)
        // Fisher–Yates with the sampler's own generator (stable across Swift versions).
        for i in stride(from: exampleCount - 1, to: 0, by: -1) {
            let j = Int(rng.next() % UInt64(i + 1))
            order.swapAt(i, j)
        }
        cursor = 0
        epoch += 1
    }

    /// The indices of the next micro-batch.
    public mutating func next() -> [Int] {
        if cursor + batchSize > exampleCount { reshuffle() }
        defer { cursor += batchSize }
        return Array(order[cursor..<cursor + batchSize])
    }
}
