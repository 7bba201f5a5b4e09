import Foundation

/// Runs blocking, all-cores work (training, evaluation) on a thread of its own and resumes the
/// caller with its result, so Swift's cooperative thread pool is never blocked.
///
/// - Important: `body` runs on a new `Thread` with an 8 MiB stack; it may block for as long as it likes.
public func runOnDedicatedThread<R: Sendable>(
    _ body: @escaping @Sendable () throws -> R
) async throws -> R {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<R, any Error>) in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.stackSize = 8 << 20
        thread.name = "quorum.training"
        thread.start()
    }
}
