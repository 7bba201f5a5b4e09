/// The difficulty knobs of the problem generator.
public struct GeneratorConfig: Sendable, Hashable, Codable {
    /// The fewest reasoning steps (solution lines before `####`) a problem has; at least 1.
    public var minSteps: Int
    /// The most reasoning steps a problem has; at most 4.
    public var maxSteps: Int
    /// The largest number drawn for a basic quantity (a count, price, rate or amount added); at
    /// least 10. Totals a question states (a bill, a tank's size) and every intermediate result stay
    /// within ``resultLimit``.
    public var maxNumber: Int
    /// The largest intermediate or final result, and the largest number a question states; nil
    /// leaves it at ten times ``maxNumber`` (at least 100). Lowering it keeps every number of a
    /// problem short (99 keeps them to two digits) without making it take fewer steps.
    public var maxResult: Int?
    /// The operations a solution may use, as their symbols (`"+-*"` leaves out division); nil
    /// allows all four. Problems that need another operation are skipped.
    public var operations: String?

    /// The symbols of every operation.
    public static let allOperations = "+-*/"

    /// Settings with the given knobs (defaults: 1–4 steps, basic numbers up to 50, results up to
    /// ten times that, every operation).
    public init(
        minSteps: Int = 1, maxSteps: Int = 4, maxNumber: Int = 50, maxResult: Int? = nil, operations: String? = nil
    ) {
        self.minSteps = minSteps
        self.maxSteps = maxSteps
        self.maxNumber = maxNumber
        self.maxResult = maxResult
        self.operations = operations
    }

    /// The symbols of the operations a solution may use: ``operations``, or all four.
    public var allowedOperations: Set<Character> { Set(operations ?? Self.allOperations) }

    /// The largest intermediate or final result allowed: ``maxResult`` if set, otherwise ten times
    /// ``maxNumber``, at least 100.
    public var resultLimit: Int { maxResult ?? max(100, maxNumber * 10) }

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
        if let maxResult, !(maxNumber...10_000_000).contains(maxResult) {
            throw TaskError(
                .invalidConfiguration,
                "max-result must be between max-number (\(maxNumber)) and 10000000 (got \(maxResult)); "
                    + "leave it out for ten times max-number")
        }
        if let operations,
            operations.isEmpty || !operations.allSatisfy(Self.allOperations.contains)
                || Set(operations).count != operations.count
        {
            throw TaskError(
                .invalidConfiguration,
                "operations must list some of + - * / once each, e.g. \"+-*\" for no division (got \"\(operations)\")")
        }
    }
}
