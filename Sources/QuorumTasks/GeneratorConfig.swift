/// The difficulty knobs of the problem generator.
public struct GeneratorConfig: Sendable, Hashable, Codable {
    /// The fewest reasoning steps (solution lines before `####`) a problem has; at least 1.
    public var minSteps: Int
    /// The most reasoning steps a problem has; at most 4.
    public var maxSteps: Int
    /// The largest number drawn for a basic quantity (a count, price, rate or amount added); at
    /// least 10. Totals a question states (a bill, a tank's size) and every intermediate result stay
    /// within ``maxResult``.
    public var maxNumber: Int

    /// Settings with the given knobs (defaults: 1–4 steps, basic numbers up to 50).
    public init(minSteps: Int = 1, maxSteps: Int = 4, maxNumber: Int = 50) {
        self.minSteps = minSteps
        self.maxSteps = maxSteps
        self.maxNumber = maxNumber
    }

    /// The largest intermediate or final result allowed: ten times ``maxNumber``, at least 100.
    public var maxResult: Int { max(100, maxNumber * 10) }

    /// The steps range every template supports.
    public static let supportedSteps = 1...4

    /// Checks the knobs.
    ///
    /// - Throws: ``TaskError`` with code `invalidConfiguration`, saying which knob to change.
    public func validate() throws {
        guard Self.supportedSteps.contains(minSteps), Self.supportedSteps.contains(maxSteps), minSteps <= maxSteps
        else {
            throw TaskError(
                .invalidConfiguration,
                "steps must satisfy 1 ≤ min-steps ≤ max-steps ≤ 4 (got \(minSteps)…\(maxSteps))")
        }
        guard (10...1_000_000).contains(maxNumber) else {
            throw TaskError(.invalidConfiguration, "max-number must be between 10 and 1000000 (got \(maxNumber))")
        }
    }
}
