import Foundation
import Synchronization

/// A dedicated thread that serves a client's callbacks (delivery reports, errors) by calling a
/// blocking poll function in a loop until stopped.
///
/// - Important: `poll` must return within its own time-out; ``stop()`` waits for the loop to exit.
final class PollThread: Sendable {
    private let running = AtomicFlag(true)
    private let exited = DispatchSemaphore(value: 0)

    /// Starts the loop. `poll` runs on the new thread only.
    init(name: String, poll: @escaping @Sendable () -> Void) {
        let thread = Thread { [running, exited] in
            while running.value { poll() }
            exited.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Stops the loop and waits until the thread has left it. Idempotent.
    func stop() {
        if running.exchange(false) { exited.wait() }
    }
}

/// A boolean shared between threads (a class, so closures can capture it).
final class AtomicFlag: Sendable {
    private let storage: Atomic<Bool>

    /// Creates the flag.
    init(_ value: Bool) { storage = Atomic(value) }

    /// The current value.
    var value: Bool { storage.load(ordering: .acquiring) }

    /// Sets a new value and returns the old one.
    func exchange(_ value: Bool) -> Bool { storage.exchange(value, ordering: .acquiringAndReleasing) }
}
