import Dispatch
import Foundation
import Synchronization

/// Live progress on standard error: a step line rewritten in place on a terminal (at most four times
/// a second), one every 10 seconds otherwise, so that logs stay short; other lines always printed.
public final class ProgressLine: Sendable {
    private let enabled: Bool
    private let terminal: Bool
    private let state = Mutex<(lastPrint: Double, pending: Bool)>((0, false))

    /// A display that prints when `enabled`; on a terminal a step line is rewritten in place.
    public init(enabled: Bool) {
        self.enabled = enabled
        terminal = isatty(2) != 0
    }

    /// Shows a step line if one is due (or `force`d: the last step).
    public func update(_ line: String, force: Bool = false) {
        guard enabled else { return }
        let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
        let due = state.withLock { state -> Bool in
            guard force || now - state.lastPrint >= (terminal ? 0.25 : 10) else { return false }
            state.lastPrint = now
            state.pending = terminal
            return true
        }
        if due { write(terminal ? "\r\u{1B}[K" + line : line + "\n") }
    }

    /// Prints a line of its own.
    public func print(_ line: String) {
        guard enabled else { return }
        finish()
        write(line + "\n")
    }

    /// Ends a step line left open on a terminal.
    public func finish() {
        let pending = state.withLock { state in
            defer { state.pending = false }
            return state.pending
        }
        if pending { write("\n") }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
