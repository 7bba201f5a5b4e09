import Foundation

/// A benchmark that cannot run as asked, said so that a person can fix it.
public struct BenchError: Error, CustomStringConvertible, Sendable {
    /// What was wrong and what to do.
    public var description: String
    /// An error with `description`.
    public init(_ description: String) { self.description = description }
}

// Timing and machine readings every benchmark shares.

/// Seconds since `start`.
func elapsed(since start: ContinuousClock.Instant) -> Double {
    seconds(of: ContinuousClock.now - start)
}

/// A duration in seconds.
func seconds(of duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) * 1e-18
}

/// The shortest of `runs` timed runs of `body`, in seconds.
func bestSeconds(of runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<runs {
        let start = ContinuousClock.now
        try body()
        best = min(best, elapsed(since: start))
    }
    return best
}

/// Best-of-`batches` microseconds per call of `body`, each batch running about `budget / batches`
/// seconds: the minimum over many short batches filters out time slices lost to other processes on a
/// shared machine. Three untimed calls warm caches first.
func bestMicroseconds(seconds budget: Double, batches: Int = 25, _ body: () -> Void) -> Double {
    for _ in 0..<3 { body() }
    let probe = ContinuousClock.now
    body()
    let once = max(elapsed(since: probe), 1e-7)
    let calls = max(1, Int(budget / Double(batches) / once))
    return bestSeconds(of: batches) { for _ in 0..<calls { body() } } / Double(calls) * 1e6
}

/// User + system CPU seconds of this process (all threads).
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6
}

/// The machine's load averages (Linux `/proc/loadavg`): speeds measured on a busy machine read low.
enum LoadAverage {
    /// The 1-, 5- and 15-minute averages as the kernel prints them ("0.52 0.61 0.70"), or "unknown".
    static func text() -> String {
        fields().map { $0.prefix(3).joined(separator: " ") } ?? "unknown"
    }

    /// The 1-minute average, or nil where it cannot be read.
    static func oneMinute() -> Double? {
        fields()?.first.flatMap { Double($0) }
    }

    private static func fields() -> [String]? {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").map(String.init)
    }
}

/// `count` samples of N(0, scale²) by the Box–Muller transform (both values of each pair).
func gaussianValues(_ count: Int, scale: Float, using rng: inout some RandomNumberGenerator) -> [Float] {
    var values = [Float](repeating: 0, count: count)
    for i in stride(from: 0, to: count, by: 2) {
        let u1 = max(Float.leastNormalMagnitude, Float.random(in: 0..<1, using: &rng))
        let u2 = Float.random(in: 0..<1, using: &rng)
        let r = scale * (-2 * log(u1)).squareRoot()
        values[i] = r * cos(2 * .pi * u2)
        if i + 1 < count { values[i + 1] = r * sin(2 * .pi * u2) }
    }
    return values
}

/// Comma-separated items of `text`, each turned into a value by `parse` (nil: not valid); `what`
/// names an item in the error and `rule` says what a valid list looks like.
func parseList<T>(_ text: String, what: String, rule: String, _ parse: (Substring) -> T?) throws(BenchError) -> [T] {
    var values: [T] = []
    for item in text.split(separator: ",", omittingEmptySubsequences: false) {
        let item = item.trimmingCharacters(in: .whitespaces)
        guard let value = parse(Substring(item)) else {
            throw BenchError("bad \(what) '\(item)': \(rule)")
        }
        values.append(value)
    }
    return values
}
