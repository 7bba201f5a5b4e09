import Dispatch

/// Runs blocking librdkafka calls on a dedicated serial queue, never on Swift's cooperative pool.
///
/// - Important: work items run one at a time, in submission order. A client that serialises all its
///   blocking calls through one executor needs no further locking around its C handle.
struct BlockingExecutor: Sendable {
    private let queue: DispatchQueue

    /// Creates an executor whose thread carries `label` (visible in debuggers and `top -H`).
    init(label: String) { queue = DispatchQueue(label: label) }

    /// Runs `work` on the executor and returns its result.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws(KafkaError) -> T) async throws(KafkaError) -> T {
        let result: Result<T, KafkaError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(KafkaError) {
                    continuation.resume(returning: .success(try work()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    /// Queues `work` on the executor without waiting for it.
    func submit(_ work: @escaping @Sendable () -> Void) { queue.async(execute: work) }

    /// Runs `work` on the executor and waits for it, from a thread that may block.
    func runBlocking<T>(_ work: () -> T) -> T { queue.sync(execute: work) }
}

extension BlockingExecutor {
    /// Runs non-throwing `work` on the executor and waits for it.
    func runAsync(_ work: @escaping @Sendable () -> Void) async {
        _ = try? await run { () throws(KafkaError) in work() }
    }
}
