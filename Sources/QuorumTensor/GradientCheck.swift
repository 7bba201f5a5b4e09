/// Central finite differences of `f` at `x`, one coordinate at a time: the independent reference
/// that every hand-written backward pass is checked against.
public func numericGradient(_ x: [Double], eps: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
    var x = x
    var grad = [Double](repeating: 0, count: x.count)
    for i in x.indices {
        let saved = x[i]
        x[i] = saved + eps
        let plus = f(x)
        x[i] = saved - eps
        let minus = f(x)
        x[i] = saved
        grad[i] = (plus - minus) / (2 * eps)
    }
    return grad
}

/// max |a − b| / max(max |a|, max |b|): the relative error gradient and fixture checks report.
public func relativeError<T: BinaryFloatingPoint>(_ a: [T], _ b: [T]) -> Double {
    precondition(a.count == b.count, "relativeError of arrays of \(a.count) and \(b.count) elements")
    var diff = 0.0
    var scale = 1e-30
    for (x, y) in zip(a, b) {
        diff = max(diff, abs(Double(x) - Double(y)))
        scale = max(scale, abs(Double(x)), abs(Double(y)))
    }
    return diff / scale
}
