import QuorumTensor

/// ``QuorumModel/Sampler``'s next-token rule, specialised for `Float` logits (a generic call across
/// modules runs unspecialised and spends most of its time in metadata lookups). The arithmetic is the
/// same step for step, so a seed draws the same token as `Sampler.sample` does.
enum TokenSampling {
    /// The index of the largest logit (the first on ties).
    static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        for j in 1..<logits.count where logits[j] > logits[best] { best = j }
        return best
    }

    /// A token from softmax(logits / temperature) restricted to the top-p nucleus (Double arithmetic),
    /// or the argmax when `temperature ≤ 0`.
    static func sample(_ logits: [Float], temperature: Double, topP: Double, using rng: inout SplitMix64) -> Int {
        if temperature <= 0 { return argmax(logits) }
        let m = Double(logits[argmax(logits)])
        var probs = logits.map { Math.exp((Double($0) - m) / temperature) }
        let total = probs.reduce(0, +)
        for j in probs.indices { probs[j] /= total }
        var u: Double
        if topP < 1 {
            // The nucleus, most probable first (ties: lower id first), popped from a binary max-heap.
            var heap = NucleusHeap(probs: probs)
            var candidates: [Int] = []
            var cumulative = 0.0
            while let j = heap.pop() {
                candidates.append(j)
                cumulative += probs[j]
                if cumulative >= topP { break }
            }
            u = rng.nextUniform() * cumulative
            for j in candidates {
                u -= probs[j]
                if u < 0 { return j }
            }
            return candidates.last!
        }
        u = rng.nextUniform()
        for j in probs.indices {
            u -= probs[j]
            if u < 0 { return j }
        }
        return probs.count - 1
    }
}

/// A binary max-heap of token ids by probability, then lower id (as QuorumModel's).
struct NucleusHeap {
    let probs: [Double]
    var items: [Int]

    init(probs: [Double]) {
        self.probs = probs
        items = Array(probs.indices)
        for i in stride(from: items.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }

    @inline(__always) func before(_ a: Int, _ b: Int) -> Bool {
        probs[a] > probs[b] || (probs[a] == probs[b] && a < b)
    }

    mutating func pop() -> Int? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            siftDown(0)
        }
        return top
    }

    mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var best = i
            if l < items.count && before(items[l], items[best]) { best = l }
            if r < items.count && before(items[r], items[best]) { best = r }
            if best == i { return }
            items.swapAt(i, best)
            i = best
        }
    }
}
