import Foundation

/// Runs helper programs (initdb, pg_ctl, the broker) and captures what they print.
enum Subprocess {
    /// The outcome of a finished program.
    struct Outcome {
        var status: Int32
        var output: String
        var succeeded: Bool { status == 0 }
    }

    /// Runs `executable` with `arguments` to completion, optionally as another user (via `runuser`).
    /// Standard output and error are captured together.
    static func run(_ executable: String, _ arguments: [String], asUser user: String? = nil) throws -> Outcome {
        var command = [executable] + arguments
        if let user { command = ["/usr/sbin/runuser", "-u", user, "--"] + command }
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("quorum-subprocess-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let pid = try spawn(command, output: outputPath, detached: false)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let data = FileManager.default.contents(atPath: outputPath) ?? Data()
        // WIFEXITED / WEXITSTATUS, spelled out (the C macros are not imported).
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(status: exitCode, output: String(decoding: data, as: UTF8.self))
    }

    /// Starts a long-running program in its own session (it outlives this process and ignores the
    /// terminal's hang-up), appending its output to `log`. Returns its pid.
    static func launchDaemon(_ executable: String, _ arguments: [String], log: String) throws -> Int32 {
        try spawn([executable] + arguments, output: log, detached: true)
    }

    /// posix_spawn with standard input from /dev/null, output to a file, and every other descriptor
    /// closed — a daemon started by the child must not inherit ours.
    private static func spawn(_ command: [String], output: String, detached: Bool) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let flags = O_WRONLY | O_CREAT | (detached ? O_APPEND : O_TRUNC)
        posix_spawn_file_actions_addopen(&actions, 1, output, flags, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        for descriptor in openDescriptors() where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        if detached { posix_spawnattr_setflags(&attributes, posixSpawnSetSID) }
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, command[0], &actions, &attributes, &argv, environ)
        guard result == 0 else {
            throw StackError("cannot run \(command[0]): \(String(cString: strerror(result)))")
        }
        if detached {
            // Reap the daemon if it dies while we are still running, so it does not linger as a zombie.
            let child = pid
            Thread.detachNewThread {
                var status: Int32 = 0
                _ = waitpid(child, &status, 0)
            }
        }
        return pid
    }

    /// glibc's POSIX_SPAWN_SETSID (not imported into Swift): the child starts a new session.
    private static let posixSpawnSetSID: Int16 = 0x80

    /// This process's open file descriptors, from /proc/self/fd.
    private static func openDescriptors() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int32($0) }
    }

    /// Finds a program on `PATH`.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Whether a process with this pid exists (signal 0 probes without signalling).
    static func isAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    /// The command line of a running process, from /proc.
    static func commandLine(_ pid: Int32) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    }
}

/// Loopback TCP probes.
enum Port {
    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func isOpen(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }

    /// Polls until `port` opens (or closes, with `open: false`), for at most `seconds`.
    static func wait(_ port: Int, open: Bool = true, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if isOpen(port) == open { return true }
            usleep(100_000)
        }
        return isOpen(port) == open
    }
}
