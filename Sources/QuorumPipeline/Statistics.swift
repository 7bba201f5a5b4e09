import Foundation

/// A mean with its standard error.
public struct Estimate: Sendable, Equatable, Codable {
    /// The mean over seeds.
    public var mean: Double
    /// The standard error of the mean: over seeds when there are two or more, else from the test
    /// problems (``basis`` says which); nil when neither can be computed.
    public var standardError: Double?
    /// How many seeds the mean is over.
    public var seeds: Int
    /// `seeds` or `problems`: where ``standardError`` comes from.
    public var basis: String

    enum CodingKeys: String, CodingKey {
        case mean, standardError = "standard_error", seeds, basis
    }
}

/// The arithmetic of an experiment's table: means over seeds, standard errors, paired differences.
///
/// - A model's accuracy over seeds s = 1…S: the mean of the per-seed accuracies; its standard error
///   is their sample standard deviation / √S (S ≥ 2), or with one seed the test set's binomial
///   standard error √(p(1 − p)/N).
/// - A paired difference A − B: per seed d_s = acc_A(s) − acc_B(s) on the same test problems; the
///   mean of d_s with standard error sd(d)/√S (S ≥ 2), or with one seed the paired per-problem
///   standard error sd(x)/√N, where x_i = 1[A right on i] − 1[B right on i].
public enum TableArithmetic {
    /// Mean and standard error of per-seed accuracies; `correct` lists each seed's per-problem results.
    public static func accuracy(_ perSeed: [[Bool]]) -> Estimate? {
        let values = perSeed.filter { !$0.isEmpty }.map(rate)
        guard !values.isEmpty else { return nil }
        let mean = values.reduce(0, +) / Double(values.count)
        if values.count >= 2 {
            return Estimate(mean: mean, standardError: standardError(values), seeds: values.count, basis: "seeds")
        }
        let n = Double(perSeed.first { !$0.isEmpty }!.count)
        return Estimate(
            mean: mean, standardError: (mean * (1 - mean) / n).squareRoot(), seeds: 1, basis: "problems")
    }

    /// Mean and standard error of the paired difference A − B; `pairs` holds, per seed, A's and B's
    /// per-problem results on the same problems in the same order.
    public static func difference(_ pairs: [(a: [Bool], b: [Bool])]) -> Estimate? {
        let usable = pairs.filter { !$0.a.isEmpty && $0.a.count == $0.b.count }
        guard !usable.isEmpty else { return nil }
        let differences = usable.map { rate($0.a) - rate($0.b) }
        let mean = differences.reduce(0, +) / Double(differences.count)
        if differences.count >= 2 {
            return Estimate(
                mean: mean, standardError: standardError(differences), seeds: differences.count, basis: "seeds")
        }
        let x = zip(usable[0].a, usable[0].b).map { Double($0 ? 1 : 0) - Double($1 ? 1 : 0) }
        return Estimate(mean: mean, standardError: standardError(x), seeds: 1, basis: "problems")
    }

    /// The fraction of true values.
    public static func rate(_ values: [Bool]) -> Double { Double(values.filter { $0 }.count) / Double(values.count) }

    /// Sample standard deviation (n − 1) / √n; nil for fewer than two values.
    public static func standardError(_ values: [Double]) -> Double? {
        guard values.count >= 2 else { return nil }
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        return (variance / n).squareRoot()
    }
}


/// Per-problem evaluation outcomes as stored in PostgreSQL (`evaluations.outcomes`,
/// `experiment_evaluations.outcomes`): one byte per problem in split order, bit 0 greedy correct,
/// bit 1 majority-of-k correct.
public enum OutcomeBytes {
    /// The bytes of `greedy` and `majority` (which may be empty: greedy only).
    public static func encode(greedy: [Bool], majority: [Bool]) -> [UInt8] {
        greedy.indices.map { i in (greedy[i] ? 1 : 0) | (i < majority.count && majority[i] ? 2 : 0) }
    }

    /// Whether greedy decoding was right, per problem.
    public static func greedy(_ bytes: [UInt8]) -> [Bool] { bytes.map { $0 & 1 != 0 } }

    /// Whether the majority of k was right, per problem.
    public static func majority(_ bytes: [UInt8]) -> [Bool] { bytes.map { $0 & 2 != 0 } }
}
