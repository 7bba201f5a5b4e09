import Foundation

/// A `quorum` subcommand running as a child process, its log lines in a log file of its own. The child
/// learns its parent's pid (`QUORUM_PARENT_PID`) and stops when the parent is gone, so killing
/// `quorum run` (even with SIGKILL) leaves no orphaned workers behind.
public final class ChildProcess: @unchecked Sendable {
    /// Where the children's logs go (`.quorum/logs/NAME.log`).
    public static let logDirectory = QuorumHome.locate().path + "/logs"
    private let process = Process()
    /// The child's name (its log file's name).
    public let name: String
    /// Its log file.
    public let logPath: String

    /// Starts this executable again with `arguments`, its output appended to `NAME.log`.
    public init(arguments: [String], name: String) throws {
        self.name = name
        try FileManager.default.createDirectory(atPath: Self.logDirectory, withIntermediateDirectories: true)
        logPath = "\(Self.logDirectory)/\(name).log"
        // The child writes its log lines to NAME.log itself (rotating it); anything else it prints
        // (a crash's last words) is appended to NAME.out.
        let outputPath = "\(Self.logDirectory)/\(name).out"
        if !FileManager.default.fileExists(atPath: outputPath) {
            _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        try output.seekToEnd()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging([
            parentPIDVariable: String(getpid()), "QUORUM_LOG_FILE": logPath,
        ]) { _, new in new }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// The child's process id.
    public var pid: Int32 { process.processIdentifier }
    /// Whether it still runs.
    public var isRunning: Bool { process.isRunning }

    /// How the process ended (only once it has).
    public var exitDescription: String {
        process.terminationReason == .uncaughtSignal
            ? "killed by signal \(process.terminationStatus)" : "exited with status \(process.terminationStatus)"
    }

    /// Asks the process to stop (SIGTERM) and waits for it.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

/// Keeps `quorum run`'s workers and sink alive: one that dies is started again (with a log line),
/// at most `maxRestarts` times each.
public final class Supervisor: @unchecked Sendable {
    private struct Entry {
        var arguments: [String]
        var process: ChildProcess
        var restarts = 0
        var givenUp = false
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private var order: [String] = []
    private var stopping = false
    /// How often each child is started again at most.
    public let maxRestarts: Int
    /// Where restart lines go.
    let log: @Sendable (String) -> Void

    /// A supervisor that restarts each child at most `maxRestarts` times, reporting to `log`.
    public init(maxRestarts: Int, log: @escaping @Sendable (String) -> Void) {
        self.maxRestarts = maxRestarts
        self.log = log
    }

    /// Starts child `name`.
    public func start(name: String, arguments: [String]) throws {
        let process = try ChildProcess(arguments: arguments, name: name)
        lock.withLock {
            entries[name] = Entry(arguments: arguments, process: process)
            order.append(name)
        }
    }

    /// "2 workers and the sink (pids …)".
    public var summary: String {
        lock.withLock {
            let pids = order.map { "\($0) pid \(entries[$0]!.process.pid)" }.joined(separator: ", ")
            return "\(order.count - 1) workers and the sink (\(pids))"
        }
    }

    /// Starts again every helper that died. Returns a message when the run cannot go on (the
    /// sink died more than `maxRestarts` times: nothing would store the votes).
    public func restartDead() -> String? {
        lock.withLock {
            if stopping { return nil }
            for name in order {
                guard var entry = entries[name], !entry.givenUp, !entry.process.isRunning else { continue }
                let how = entry.process.exitDescription
                let oldPID = entry.process.pid
                if entry.restarts >= maxRestarts {
                    entry.givenUp = true
                    entries[name] = entry
                    let message =
                        "\(name) (pid \(oldPID)) \(how) and was restarted \(maxRestarts) times already; "
                        + "not again (see \(entry.process.logPath))"
                    if name == "sink" { return message + "; stopping, since nothing would store the votes" }
                    log("[run] \(message)")
                    continue
                }
                do {
                    entry.process = try ChildProcess(arguments: entry.arguments, name: name)
                    entry.restarts += 1
                    entries[name] = entry
                    log(
                        "[run] \(name) (pid \(oldPID)) \(how); restarted it as pid \(entry.process.pid) "
                            + "(restart \(entry.restarts) of at most \(maxRestarts))")
                } catch {
                    log("[run] \(name) (pid \(oldPID)) \(how) and could not be restarted: \(error)")
                }
            }
            return nil
        }
    }

    /// Stops every child (SIGTERM) and waits for them.
    public func stopAll() {
        let processes = lock.withLock {
            stopping = true
            return order.map { entries[$0]!.process }
        }
        for process in processes { process.stop() }
    }
}

/// The environment variable through which `quorum run` tells its children its pid.
public let parentPIDVariable = "QUORUM_PARENT_PID"
