public import FlyingFox
import FlyingSocks
import Foundation

/// The small HTTP servers of Quorum's own processes (metrics, the dashboard): IPv4, FlyingFox's
/// logging off, stopped by cancelling the task that runs them.
public enum LocalHTTPServer {
    /// A server bound to `host:port` (port 0: a free one).
    public static func make(host: String, port: UInt16) throws -> HTTPServer {
        HTTPServer(address: try .inet(ip4: host, port: port), logger: .disabled)
    }

    /// Runs `server` until the task is cancelled; `onListening` gets the port it bound.
    public static func run(_ server: HTTPServer, onListening: @escaping @Sendable (UInt16) -> Void) async throws {
        let announce = Task {
            try await server.waitUntilListening()
            if case .ip4(_, port: let bound) = await server.listeningAddress { onListening(bound) }
        }
        defer { announce.cancel() }
        try await withTaskCancellationHandler {
            try await server.run()
        } onCancel: {
            Task { await server.stop() }
        }
    }
}
