public import QuorumModel
import QuorumQuant
import QuorumTensor
import QuorumCore

extension ServingModel: TokenGenerator {
    /// Continues every prompt with continuous batching and shared prompt prefixes.
    ///
    /// Identical prompts form one group: the prompt runs once, its keys and values become the shared
    /// prefix of every sample in the group, and each sample draws its first token from the prompt's
    /// logits with its own stream. Up to `maxBatchSize` sequences decode together (one row each per
    /// step, so every weight is read once per step for all of them); a finished sequence leaves the
    /// batch at once and the next waiting sample (or group, whose prompt is then run) takes its place.
    ///
    /// Sample `i` draws from `SplitMix64(parameters.seed, stream: streams[i])` (default `i`); because
    /// the forward pass is batch invariant, a sample's tokens do not depend on the batch arrangement,
    /// on `maxBatchSize`, or on whether its prompt was shared. A sequence stops at EOS (kept), when
    /// `stop` says so, after `maxNewTokens`, or when it reaches the model's context length (`.length`).
    public func generate(
        prompts: [[Int]], parameters: SamplingParameters, streams: [UInt64]? = nil, eosTokenId: Int? = nil,
        maxBatchSize: Int = 64, stop: (_ index: Int, _ generated: [Int]) -> Bool = { _, _ in false }
    ) -> [Generation] {
        let count = prompts.count
        let streams = streams ?? (0..<count).map(UInt64.init)
        precondition(streams.count == count, "one stream per prompt")
        precondition(maxBatchSize > 0, "maxBatchSize must be positive")
        var results = [Generation](repeating: Generation([], finish: .length), count: count)
        guard parameters.maxNewTokens > 0, count > 0 else { return results }
        // Identical prompts share one prefix; groups keep the order of first appearance.
        var groupOf: [[Int]: Int] = [:]
        var groups: [PromptGroup] = []
        for (i, prompt) in prompts.enumerated() {
            precondition(!prompt.isEmpty, "prompt \(i) is empty")
            precondition(
                prompt.count < config.maxPositionEmbeddings, "prompt \(i) fills the whole context of the model")
            if let g = groupOf[prompt] {
                groups[g].members.append(i)
            } else {
                groupOf[prompt] = groups.count
                groups.append(PromptGroup(prompt: prompt, members: [i]))
            }
        }
        let eos = eosTokenId ?? config.eosTokenId
        var scheduler = Scheduler(
            model: self, groups: groups, streams: streams, parameters: parameters, eos: eos,
            maxBatchSize: maxBatchSize)
        scheduler.run(results: &results, stop: stop)
        return results
    }
}

/// Samples that share a prompt.
struct PromptGroup {
    var prompt: [Int]
    /// Sample indices, in order.
    var members: [Int]
    /// Members admitted so far.
    var admitted = 0
    /// The prompt's keys and values once it has run.
    var prefix: KVStore?
    /// Logits after the prompt's last token.
    var logits: [Float]?
}

/// One decoding sequence.
struct ActiveSequence {
    var index: Int
    var prefix: KVStore
    var store: KVStore
    var rng: SplitMix64
    var last: Int
}

/// The continuous-batching loop: admit, decode one step for every active sequence, retire.
struct Scheduler {
    let model: ServingModel
    var groups: [PromptGroup]
    let streams: [UInt64]
    let parameters: SamplingParameters
    let eos: Int?
    let maxBatchSize: Int
    var nextGroup = 0
    var active: [ActiveSequence] = []
    /// Stores of retired sequences, reused by new ones.
    var spareStores: [KVStore] = []

    init(
        model: ServingModel, groups: [PromptGroup], streams: [UInt64], parameters: SamplingParameters, eos: Int?,
        maxBatchSize: Int
    ) {
        self.model = model
        self.groups = groups
        self.streams = streams
        self.parameters = parameters
        self.eos = eos
        self.maxBatchSize = maxBatchSize
    }

    /// Records `token` for sample `index`; returns whether the sequence goes on.
    func accept(
        _ token: Int, index: Int, position: Int, results: inout [Generation], stop: (Int, [Int]) -> Bool
    ) -> Bool {
        results[index].tokens.append(token)
        if token == eos {
            results[index].finish = .endOfSequence
        } else if stop(index, results[index].tokens) {
            results[index].finish = .stopPredicate
        } else if results[index].tokens.count >= parameters.maxNewTokens
            || position >= model.config.maxPositionEmbeddings
        {
            // `position` is where this token would be fed: the context is full.
            results[index].finish = .length
        } else {
            return true
        }
        return false
    }

    func draw(_ logits: [Float], rng: inout SplitMix64) -> Int {
        Sampler.sample(logits, temperature: parameters.temperature, topP: parameters.topP, using: &rng)
    }

    mutating func run(results: inout [Generation], stop: (Int, [Int]) -> Bool) {
        while true {
            admit(results: &results, stop: stop)
            if active.isEmpty { return }
            step(results: &results, stop: stop)
        }
    }

    /// Fills the batch from the waiting samples in order, running the prompts of newly reached groups
    /// together in one call (as many groups as the free places can take samples from).
    mutating func admit(results: inout [Generation], stop: (Int, [Int]) -> Bool) {
        while active.count < maxBatchSize, let first = firstUnfinishedGroup() {
            var room = maxBatchSize - active.count
            var open: [Int] = []
            var g = first
            while g < groups.count && room > 0 {
                if groups[g].prefix == nil { open.append(g) }
                room -= groups[g].members.count - groups[g].admitted
                g += 1
            }
            if !open.isEmpty { prefill(open) }
            while active.count < maxBatchSize, let g = firstUnfinishedGroup(), groups[g].prefix != nil {
                admitOne(from: g, results: &results, stop: stop)
            }
        }
    }

    /// The first group that still has samples to admit (groups are admitted in order).
    mutating func firstUnfinishedGroup() -> Int? {
        while nextGroup < groups.count && groups[nextGroup].admitted == groups[nextGroup].members.count {
            nextGroup += 1
        }
        return nextGroup < groups.count ? nextGroup : nil
    }

    /// Runs the prompts of `open` in one forward call.
    mutating func prefill(_ open: [Int]) {
        let requests = open.map { g in
            ExtendRequest(
                store: KVStore(
                    config: model.config, capacity: groups[g].prompt.count, precision: model.keyValuePrecision),
                tokens: groups[g].prompt)
        }
        let logits = model.extend(requests)
        for (i, g) in open.enumerated() {
            groups[g].prefix = requests[i].store
            groups[g].logits = logits[i]
        }
    }

    /// Starts the next sample of `group`: its first token comes from the prompt's logits.
    mutating func admitOne(from group: Int, results: inout [Generation], stop: (Int, [Int]) -> Bool) {
        let index = groups[group].members[groups[group].admitted]
        groups[group].admitted += 1
        let prefix = groups[group].prefix!
        var rng = SplitMix64(seed: parameters.seed, stream: streams[index])
        let token = draw(groups[group].logits!, rng: &rng)
        // The token goes in at position `prefix.length`.
        if accept(token, index: index, position: prefix.length, results: &results, stop: stop) {
            let capacity = min(parameters.maxNewTokens, model.config.maxPositionEmbeddings - prefix.length)
            let store: KVStore
            if let spare = spareStores.last, spare.capacity >= capacity, spare.precision == prefix.precision {
                spareStores.removeLast()
                spare.reset()
                store = spare
            } else {
                store = KVStore(config: model.config, capacity: max(capacity, 1), precision: prefix.precision)
            }
            active.append(ActiveSequence(index: index, prefix: prefix, store: store, rng: rng, last: token))
        }
        if groups[group].admitted == groups[group].members.count {
            // Last member: the prefix now lives only in the group's sequences.
            groups[group].prefix = nil
            groups[group].logits = nil
        }
    }

    /// One decoding step for every active sequence; retires the finished ones.
    mutating func step(results: inout [Generation], stop: (Int, [Int]) -> Bool) {
        let requests = active.map { ExtendRequest(store: $0.store, prefix: $0.prefix, tokens: [$0.last]) }
        let logits = model.extend(requests)
        var drawn = [Int](repeating: 0, count: active.count)
        let parameters = parameters
        drawn.withUnsafeMutableBufferPointer { drawn in
            active.withUnsafeMutableBufferPointer { seqs in
                // Each sequence draws from its own stream, so rows can be sampled in parallel (on the
                // kernels' pool: no thread wake-ups through GCD every step).
                let threads = parameters.temperature <= 0 ? 1 : model.threads
                Kernels.parallel(seqs.count, work: seqs.count << 16, threads: threads, minimumChunk: 1) { rows in
                    for row in rows {
                        drawn[row] = Sampler.sample(
                            logits[row], temperature: parameters.temperature, topP: parameters.topP,
                            using: &seqs[row].rng)
                    }
                }
            }
        }
        var still: [ActiveSequence] = []
        still.reserveCapacity(active.count)
        for (row, var sequence) in active.enumerated() {
            let token = drawn[row]
            let position = sequence.prefix.length + sequence.store.length
            if accept(token, index: sequence.index, position: position, results: &results, stop: stop) {
                sequence.last = token
                still.append(sequence)
            } else {
                spareStores.append(sequence.store)
            }
        }
        active = still
    }
}
