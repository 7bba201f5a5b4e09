import FlyingFox
import Foundation
import QuorumMetrics
public import QuorumStore

/// `quorum dashboard`: one page that redraws itself from `GET /api/state` every few seconds.
/// Read-only: nothing it serves changes state, so it needs no token.
public enum DashboardServer {
    /// Serves on `host:port` until the task is cancelled; `onListening` gets the port bound.
    public static func serve(
        database: PostgresClient, host: String, port: UInt16, onListening: @escaping @Sendable (UInt16) -> Void = { _ in }
    ) async throws {
        let server = try LocalHTTPServer.make(host: host, port: port)
        await server.appendRoute("GET /") { _ in
            HTTPResponse(statusCode: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: Data(DashboardPage.html.utf8))
        }
        await server.appendRoute("GET /api/state") { _ in
            do {
                let state = try await DashboardState.load(database: database)
                let encoder = JSONEncoder()
                encoder.keyEncodingStrategy = .convertToSnakeCase
                return HTTPResponse(
                    statusCode: .ok, headers: [.contentType: "application/json", .init("Cache-Control"): "no-store"],
                    body: try encoder.encode(state))
            } catch {
                return HTTPResponse(
                    statusCode: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                    body: Data("the database cannot be read: \(error)".utf8))
            }
        }
        try await LocalHTTPServer.run(server, onListening: onListening)
    }
}
