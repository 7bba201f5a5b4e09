import ArgumentParser
import Foundation
import QuorumStack

struct StackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stack",
        abstract: "Start, stop and inspect the embedded PostgreSQL server and Kafka broker (loopback only).",
        discussion: """
            Data and logs live in .quorum/stack. Ports: PostgreSQL 54329, Kafka 19092 \
            (QUORUM_POSTGRES_PORT / QUORUM_KAFKA_PORT change them). Kafka data is kept in memory: a broker \
            restart loses queued messages (Quorum re-publishes; PostgreSQL is the source of truth).
            """,
        subcommands: [Up.self, Down.self, Status.self])

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the stack (a no-op for what already runs).")
        @Flag(help: "Print the status as JSON.") var json = false

        func run() throws {
            let status = try LocalStack().up()
            try report(status, json: json)
            if !status.healthy { throw ExitCode(1) }
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the stack (a no-op when it is not running).")
        @Flag(help: "Print the status as JSON.") var json = false

        func run() throws { try report(try LocalStack().down(), json: json) }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report whether PostgreSQL and the broker run and answer; exits 1 when either is down.")
        @Flag(help: "Print the status as JSON.") var json = false

        func run() throws {
            let status = LocalStack().status()
            try report(status, json: json)
            if !status.healthy { throw ExitCode(1) }
        }
    }
}

private func report(_ status: StackStatus, json: Bool) throws {
    if json { return try printJSON(status) }
    print("stack folder: \(status.directory)")
    for service in [status.postgres, status.kafka] {
        let state = service.healthy ? "up" : "down"
        let pid = service.pid.map { " pid \($0)" } ?? ""
        let note = service.note.map { " (\($0))" } ?? ""
        print(
            "  \(service.name.padding(toLength: 9, withPad: " ", startingAt: 0)) \(state)\(pid)  \(service.address)\(note)"
        )
        print("            log: \(service.logFile)")
    }
}
