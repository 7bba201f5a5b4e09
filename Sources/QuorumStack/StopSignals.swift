import Foundation

/// Cancels `task` on SIGINT or SIGTERM, for a graceful stop of a long-running command.
private func cancelOnSignals(_ task: Task<Void, any Error>) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { signalNumber in
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { task.cancel() }
        source.resume()
        return source
    }
}

/// Cancels `task` once the process that started this one (`quorum run`, named by
/// `QUORUM_PARENT_PID`) is gone, even if it was killed with SIGKILL: a worker or sink started by
/// `quorum run` must not outlive it. Does nothing for processes started by hand.
private func cancelWhenParentExits(_ task: Task<Void, any Error>) -> Task<Void, Never>? {
    guard let text = ProcessInfo.processInfo.environment[parentPIDVariable], let parent = Int32(text) else {
        return nil
    }
    return Task.detached {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            if getppid() != parent {
                FileHandle.standardError.write(
                    Data("[\(ProcessInfo.processInfo.processName)] quorum run (pid \(parent)) is gone; stopping\n".utf8))
                task.cancel()
                return
            }
        }
    }
}

/// Waits for `task` of a long-running command, cancelling it on SIGINT or SIGTERM and when the
/// `quorum run` that started this process is gone.
public func awaitUntilStopped(_ task: Task<Void, any Error>) async -> Result<Void, any Error> {
    let signals = cancelOnSignals(task)
    let orphanWatch = cancelWhenParentExits(task)
    defer {
        signals.forEach { $0.cancel() }
        orphanWatch?.cancel()
    }
    return await task.result
}
