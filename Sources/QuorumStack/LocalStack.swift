import Foundation

/// The embedded stack: a PostgreSQL server and the Tansu Kafka-protocol broker on loopback,
/// with their data and logs in one folder.
///
/// `up` and `down` are idempotent. PostgreSQL refuses to run as root, so as root its programs run
/// as the `postgres` user (`runuser`), with a data folder that user owns.
public struct LocalStack: Sendable {
    /// Where the binaries and the stack folder live.
    public let home: QuorumHome
    /// The loopback ports.
    public let ports: StackPorts

    /// Creates a handle on the stack; nothing starts until ``up()``.
    public init(home: QuorumHome = .locate(), ports: StackPorts = StackPorts()) {
        self.home = home
        self.ports = ports
    }

    var directory: String { home.stackDirectory }
    var postgresLog: String { directory + "/postgres.log" }
    var kafkaLog: String { directory + "/kafka.log" }
    var kafkaPidFile: String { directory + "/kafka.pid" }

    /// Starts whatever is not running, waits until both services answer, and reports.
    public func up() throws -> StackStatus {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var postgresNote = try startPostgres()
        let kafkaNote = try startKafka()
        if postgresNote == nil, !Port.isOpen(ports.postgres) { postgresNote = "did not come up" }
        var report = status()
        if report.postgres.note == nil { report.postgres.note = postgresNote }
        if report.kafka.note == nil { report.kafka.note = kafkaNote }
        return report
    }

    /// Stops both services (fast shutdown for PostgreSQL, SIGTERM then SIGKILL for the broker).
    public func down() throws -> StackStatus {
        try stopKafka()
        try stopPostgres()
        return status()
    }

    /// Reports what is running, without changing anything.
    public func status() -> StackStatus {
        StackStatus(directory: directory, postgres: postgresStatus(), kafka: kafkaStatus())
    }
}

// MARK: - PostgreSQL

extension LocalStack {
    private static var isRoot: Bool { geteuid() == 0 }
    /// As root, PostgreSQL's programs run as this user.
    private static let serviceUser = "postgres"

    /// The data folder. As root it must be reachable by the `postgres` user; when the stack folder
    /// is not (a home directory without o+x), it moves to /var/tmp and the stack folder records where.
    var postgresData: String {
        let pointer = directory + "/postgres.location"
        if let recorded = try? String(contentsOfFile: pointer, encoding: .utf8) {
            return recorded.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return directory + "/postgres"
    }

    func postgresBinary(_ name: String) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let bindir = environment["QUORUM_PG_BINDIR"], !bindir.isEmpty { return bindir + "/" + name }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions {
            let candidate = "\(root)/\(version)/bin/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        if let found = Subprocess.which(name) { return found }
        throw StackError(
            "PostgreSQL's \(name) was not found. Run ops/setup.sh (it installs Debian's postgresql), "
                + "or set QUORUM_PG_BINDIR to the folder holding initdb and pg_ctl.")
    }

    private func runPostgres(_ name: String, _ arguments: [String]) throws -> Subprocess.Outcome {
        try Subprocess.run(try postgresBinary(name), arguments, asUser: Self.isRoot ? Self.serviceUser : nil)
    }

    /// Returns a note for the status report, or throws when PostgreSQL cannot be started.
    private func startPostgres() throws -> String? {
        if postgresStatus().healthy {
            try createDatabase()
            return "already running"
        }
        if Port.isOpen(ports.postgres) {
            throw StackError(
                "port \(ports.postgres) is in use by another program, not Quorum's PostgreSQL. Stop it, or choose "
                    + "another port with QUORUM_POSTGRES_PORT=… (use the same value for every quorum command).")
        }
        try preparePostgresData()
        let started = try runPostgres(
            "pg_ctl",
            [
                "-D", postgresData, "-l", postgresLog, "-w", "-t", "60", "-o",
                "-p \(ports.postgres) -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200",
                "start",
            ])
        guard started.succeeded, Port.wait(ports.postgres, seconds: 30) else {
            throw StackError("PostgreSQL did not start (see \(postgresLog)):\n\(started.output)")
        }
        try createDatabase()
        return nil
    }

    /// Creates the `quorum` database unless it exists.
    private func createDatabase() throws {
        let createdb = try runPostgres(
            "createdb",
            ["-h", "127.0.0.1", "-p", String(ports.postgres), "-U", StackPorts.postgresUser, StackPorts.database])
        if !createdb.succeeded, !createdb.output.contains("already exists") {
            throw StackError("cannot create the \(StackPorts.database) database: \(createdb.output)")
        }
    }

    /// Creates (once) a data folder with `initdb`: role `quorum`, trust authentication on loopback only.
    private func preparePostgresData() throws {
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: postgresData + "/PG_VERSION") {
            removeStalePostgresPid()
            return
        }
        var data = directory + "/postgres"
        if Self.isRoot {
            let reachable = try Subprocess.run("/usr/bin/test", ["-x", directory], asUser: Self.serviceUser)
            if !reachable.succeeded {
                data = "/var/tmp/quorum-postgres-\(abs(directory.hashValue))"
                try data.write(toFile: directory + "/postgres.location", atomically: true, encoding: .utf8)
            }
        }
        try fileManager.createDirectory(atPath: data, withIntermediateDirectories: true)
        if Self.isRoot {
            let chown = try Subprocess.run("/bin/chown", ["-R", "\(Self.serviceUser):\(Self.serviceUser)", data])
            guard chown.succeeded else { throw StackError("cannot hand \(data) to the postgres user: \(chown.output)") }
            // The log lives in the stack folder; the server writes it as the postgres user.
            _ = fileManager.createFile(atPath: postgresLog, contents: nil)
            _ = try Subprocess.run("/bin/chown", ["\(Self.serviceUser):\(Self.serviceUser)", postgresLog])
        }
        let initdb = try runPostgres(
            "initdb",
            [
                "-D", data, "-U", StackPorts.postgresUser, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                "--no-instructions",
            ])
        guard initdb.succeeded else { throw StackError("initdb failed:\n\(initdb.output)") }
    }

    /// A postmaster.pid left by a killed server stops pg_ctl from starting; remove it when its
    /// process is gone.
    private func removeStalePostgresPid() {
        let pidFile = postgresData + "/postmaster.pid"
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = text.split(separator: "\n").first.flatMap({ Int32($0) })
        else { return }
        if !Subprocess.isAlive(pid) { try? FileManager.default.removeItem(atPath: pidFile) }
    }

    private func stopPostgres() throws {
        guard FileManager.default.fileExists(atPath: postgresData + "/postmaster.pid") else { return }
        let stopped = try runPostgres("pg_ctl", ["-D", postgresData, "-m", "fast", "-w", "-t", "60", "stop"])
        if !stopped.succeeded, postgresPid() != nil {
            throw StackError("PostgreSQL did not stop (see \(postgresLog)):\n\(stopped.output)")
        }
    }

    private func postgresPid() -> Int32? {
        guard let text = try? String(contentsOfFile: postgresData + "/postmaster.pid", encoding: .utf8),
            let pid = text.split(separator: "\n").first.flatMap({ Int32($0) }), Subprocess.isAlive(pid)
        else { return nil }
        return pid
    }

    func postgresStatus() -> ServiceStatus {
        let pid = postgresPid()
        let healthy = pid != nil && Port.isOpen(ports.postgres)
        return ServiceStatus(
            name: "postgres", healthy: healthy, pid: pid,
            address: Endpoints.resolve(environment: ["QUORUM_POSTGRES_PORT": String(ports.postgres)]).postgresURL,
            logFile: postgresLog, note: pid == nil ? "not running" : (healthy ? nil : "process alive, port closed"))
    }
}

// MARK: - The Kafka-protocol broker

extension LocalStack {
    private func startKafka() throws -> String? {
        var note: String?
        if let pid = readKafkaPid() {
            if isOurBroker(pid) {
                if Port.wait(ports.kafka, seconds: 10) { return "already running" }
                throw StackError(
                    "the broker (pid \(pid)) runs but does not answer on port \(ports.kafka); see \(kafkaLog)")
            }
            try? FileManager.default.removeItem(atPath: kafkaPidFile)
            note = "removed a stale pid file (pid \(pid) was not the broker)"
        }
        if Port.isOpen(ports.kafka) {
            throw StackError(
                "port \(ports.kafka) is in use by another program, not Quorum's broker. Stop it, or choose another "
                    + "port with QUORUM_KAFKA_PORT=… (use the same value for every quorum command).")
        }
        let binary = home.tansuBinary
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw StackError("the Tansu broker is not installed at \(binary). Run ops/setup.sh first.")
        }
        let listener = "tcp://127.0.0.1:\(ports.kafka)"
        let pid = try Subprocess.launchDaemon(
            binary,
            [
                "broker", "--listener-url", listener, "--advertised-listener-url", listener, "--storage-engine",
                "memory://tansu/",
            ],
            log: kafkaLog)
        try String(pid).write(toFile: kafkaPidFile, atomically: true, encoding: .utf8)
        guard Port.wait(ports.kafka, seconds: 30) else {
            throw StackError("the broker did not open port \(ports.kafka) within 30 s; see \(kafkaLog)")
        }
        return note
    }

    private func stopKafka() throws {
        guard let pid = readKafkaPid() else { return }
        if isOurBroker(pid) {
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while Subprocess.isAlive(pid), Date() < deadline { usleep(50_000) }
            if Subprocess.isAlive(pid) { kill(pid, SIGKILL) }
            while Subprocess.isAlive(pid), isOurBroker(pid) { usleep(50_000) }
        }
        try? FileManager.default.removeItem(atPath: kafkaPidFile)
        _ = Port.wait(ports.kafka, open: false, seconds: 5)
    }

    private func readKafkaPid() -> Int32? {
        guard let text = try? String(contentsOfFile: kafkaPidFile, encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Whether `pid` is alive and is a Tansu process (a reused pid is not ours).
    private func isOurBroker(_ pid: Int32) -> Bool {
        guard Subprocess.isAlive(pid), let commandLine = Subprocess.commandLine(pid) else { return false }
        return commandLine.contains("tansu") && !commandLine.contains("<defunct>")
    }

    func kafkaStatus() -> ServiceStatus {
        let pid = readKafkaPid().flatMap { isOurBroker($0) ? $0 : nil }
        let healthy = pid != nil && Port.isOpen(ports.kafka)
        var note: String? = pid == nil ? "not running" : (healthy ? nil : "process alive, port closed")
        if pid == nil, readKafkaPid() != nil { note = "stale pid file (the process is gone)" }
        return ServiceStatus(
            name: "kafka", healthy: healthy, pid: pid, address: "127.0.0.1:\(ports.kafka)", logFile: kafkaLog,
            note: note)
    }
}
