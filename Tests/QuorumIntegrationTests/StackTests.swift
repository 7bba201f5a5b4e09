import Foundation
import Testing

@Suite("The embedded stack in a scratch folder")
struct StackTests {
    @Test func upIsIdempotentAndBadStatesGetClearMessages() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent(TestStack.unique("quorum-home"))
        try FileManager.default.createDirectory(
            at: home.appendingPathComponent("bin"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        // The same broker binary as the real stack, on other ports.
        let realHome = TestStack.repositoryRoot.appendingPathComponent(".quorum")
        try FileManager.default.createSymbolicLink(
            at: home.appendingPathComponent("bin/tansu"),
            withDestinationURL: realHome.appendingPathComponent("bin/tansu"))
        let environment = ["QUORUM_HOME": home.path, "QUORUM_POSTGRES_PORT": "54339", "QUORUM_KAFKA_PORT": "19093"]
        func quorum(_ arguments: String...) throws -> (status: Int32, output: String) {
            try TestStack.runQuorum(arguments, environment: environment)
        }
        defer { _ = try? quorum("stack", "down") }

        // A port taken by another program: a clear message, nothing started.
        let squatter = try ListeningSocket(port: 19093)
        let blocked = try quorum("stack", "up")
        #expect(blocked.status != 0)
        #expect(blocked.output.contains("port 19093 is in use by another program"))
        #expect(blocked.output.contains("QUORUM_KAFKA_PORT"))
        squatter.close()

        // A stale pid file (its process is gone) is reported, then cleaned up by `up`.
        try FileManager.default.createDirectory(
            at: home.appendingPathComponent("stack"), withIntermediateDirectories: true)
        try "999999".write(to: home.appendingPathComponent("stack/kafka.pid"), atomically: true, encoding: .utf8)
        let stale = try quorum("stack", "status", "--json")
        #expect(stale.status == 1)
        #expect(stale.output.contains("stale pid file"))

        let first = try quorum("stack", "up", "--json")
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("removed a stale pid file"))
        let second = try quorum("stack", "up", "--json")
        #expect(second.status == 0)
        #expect(second.output.contains("already running"))
        #expect(try quorum("stack", "status").status == 0)

        let down = try quorum("stack", "down", "--json")
        #expect(down.status == 0)
        #expect(try quorum("stack", "status").status == 1)
        #expect(try quorum("stack", "down").status == 0, "down twice is fine")
    }
}

/// A TCP listener on 127.0.0.1, standing in for "another program" on a port.
private final class ListeningSocket {
    private var descriptor: Int32

    init(port: UInt16) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(descriptor, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
    }

    func close() {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
        descriptor = -1
    }

    deinit { close() }
}
