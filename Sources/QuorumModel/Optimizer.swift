public import QuorumTensor

/// AdamW (Loshchilov & Hutter 2019, Algorithm 2: Adam with decoupled weight decay), updating a
/// model's fp32 master weights in place from its accumulated gradients.
///
/// Weight decay applies to matrices (embeddings, projections, LM head) and not to the norms' gains,
/// the usual choice for transformers.
public final class AdamW<T: TensorScalar> {
    /// Hyper-parameters of the update.
    public struct Settings: Sendable, Codable, Equatable {
        /// β₁, the first-moment decay.
        public var beta1: Double
        /// β₂, the second-moment decay.
        public var beta2: Double
        /// ε added to √v̂.
        public var eps: Double
        /// λ, the decoupled weight decay (multiplied by the learning rate, as PyTorch does).
        public var weightDecay: Double

        /// Settings; the defaults are PyTorch's except β₂ = 0.95 and λ = 0.1, common for LLMs.
        public init(beta1: Double = 0.9, beta2: Double = 0.95, eps: Double = 1e-8, weightDecay: Double = 0.1) {
            self.beta1 = beta1
            self.beta2 = beta2
            self.eps = eps
            self.weightDecay = weightDecay
        }
    }

    /// The update's hyper-parameters.
    public var settings: Settings
    /// Steps taken so far (t in the bias corrections).
    public private(set) var step = 0
    /// First moments m, laid out like the parameters.
    public let m: Buffer<T>
    /// Second moments v, laid out like the parameters.
    public let v: Buffer<T>
    /// Per parameter entry: (offset, count, decays).
    let groups: [(offset: Int, count: Int, decay: Bool)]

    /// An optimiser for `model`'s parameters with zeroed moments.
    public init(model: LlamaModel<T>, settings: Settings = Settings()) {
        self.settings = settings
        m = Buffer(count: model.parameterCount)
        v = Buffer(count: model.parameterCount)
        groups = model.layout.entries.map { ($0.offset, $0.count, $0.shape.count >= 2) }
    }

    /// Restores the moments and step count (e.g. from a checkpoint).
    public func restore(step: Int, m: [T], v: [T]) {
        precondition(m.count == self.m.count && v.count == self.v.count)
        self.step = step
        m.withUnsafeBufferPointer { self.m.pointer.update(from: $0.baseAddress!, count: $0.count) }
        v.withUnsafeBufferPointer { self.v.pointer.update(from: $0.baseAddress!, count: $0.count) }
    }

    /// One update with learning rate `lr`:
    /// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; θ ← θ − lr·λ·θ − lr·m̂/(√v̂ + ε),
    /// with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ). Does not zero the gradients.
    @_specialize(where T == Float)
    public func update(_ model: LlamaModel<T>, lr: Double) {
        step += 1
        let b1 = T(settings.beta1)
        let b2 = T(settings.beta2)
        let c1 = T(1 / (1 - Math.pow(settings.beta1, Double(step))))
        let c2 = T(1 / (1 - Math.pow(settings.beta2, Double(step))))
        let eps = T(settings.eps)
        let lrT = T(lr)
        let p = model.parameters.pointer
        let g = model.gradients.pointer
        let m = m.pointer
        let v = v.pointer
        for group in groups {
            let shrink = group.decay ? 1 - T(lr * settings.weightDecay) : 1
            parallelRows(group.count, chunk: 1 << 16) { range in
                for i in range.lowerBound + group.offset..<range.upperBound + group.offset {
                    let gi = g[i]
                    let mi = b1 * m[i] + (1 - b1) * gi
                    let vi = b2 * v[i] + (1 - b2) * gi * gi
                    m[i] = mi
                    v[i] = vi
                    p[i] = p[i] * shrink - lrT * (mi * c1) / ((vi * c2).squareRoot() + eps)
                }
            }
        }
        model.invalidateQuantizedWeights()
    }
}

/// Linear warm-up to the peak rate, then cosine decay to a floor (Loshchilov & Hutter 2017, SGDR
/// eq. 5 without restarts).
public struct LearningRateSchedule: Sendable, Codable, Equatable {
    /// The rate reached at the end of warm-up.
    public var peak: Double
    /// The rate at and after `totalSteps`.
    public var minimum: Double
    /// Steps of linear warm-up.
    public var warmupSteps: Int
    /// Steps until the cosine reaches `minimum`.
    public var totalSteps: Int

    /// A schedule.
    public init(peak: Double, minimum: Double = 0, warmupSteps: Int, totalSteps: Int) {
        self.peak = peak
        self.minimum = minimum
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// The rate for step `step` (0-based): `peak·(step+1)/warmup` while warming up, then
    /// `min + (peak − min)·(1 + cos(π·progress))/2`.
    public func rate(at step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step + 1) / Double(warmupSteps) }
        if step >= totalSteps { return minimum }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        return minimum + (peak - minimum) * 0.5 * (1 + Math.cos(Double.pi * progress))
    }
}

extension LlamaModel {
    /// The global L2 norm of all gradients.
    @_specialize(where T == Float)
    public func gradientNorm() -> Double {
        var sum = 0.0
        let g = gradients.pointer
        var i = 0
        let n = gradients.count
        while i < n {
            let chunk = min(4096, n - i)
            sum += Double(Vector.dot(g + i, g + i, count: chunk))
            i += chunk
        }
        return sum.squareRoot()
    }

    /// Global-norm gradient clipping (Pascanu et al. 2013): when the norm exceeds `maxNorm`, scales
    /// every gradient by `maxNorm / norm`. Returns the norm before clipping.
    @discardableResult
    @_specialize(where T == Float)
    public func clipGradients(maxNorm: Double) -> Double {
        let norm = gradientNorm()
        if norm > maxNorm, norm.isFinite {
            let s = T(maxNorm / norm)
            let g = gradients.pointer
            for i in 0..<gradients.count { g[i] *= s }
        }
        return norm
    }
}
