import Dispatch

/// Runs `body(i)` for every `i` in `0..<count`, spread over the machine's cores
/// (`DispatchQueue.concurrentPerform`); runs inline when `count` is 1 or `serial` is true.
///
/// - Important: iterations must write disjoint memory; the call returns when all have finished.
public func parallelFor(_ count: Int, serial: Bool = false, _ body: (Int) -> Void) {
    if count <= 0 { return }
    if count == 1 || serial {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let box = UncheckedBox(body)
        DispatchQueue.concurrentPerform(iterations: count) { i in box.value(i) }
    }
}

/// Carries a non-`Sendable` closure into `concurrentPerform`, which finishes before
/// ``parallelFor(_:serial:_:)`` returns, so the closure never outlives its caller's frame and the
/// caller promises its iterations touch disjoint memory.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
