import CoreMetrics
import FlyingFox
import Foundation
import Prometheus

/// The process's metrics in Prometheus's text format.
///
/// Quorum's libraries record through swift-metrics (`CoreMetrics`) and know nothing of the backend;
/// a long-running command calls ``bootstrap()`` once, and ``serve(host:port:)`` answers `GET /metrics`.
public enum ProcessMetrics {
    private static let registry = PrometheusCollectorRegistry()

    /// Routes every swift-metrics counter, gauge, recorder and timer of this process into the
    /// registry. Call once, before any metric is created.
    public static func bootstrap() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// Every metric so far, as Prometheus text (exposition format 0.0.4).
    public static var text: String { registry.emitToString() }

    /// Answers `GET /metrics` on `host:port` (IPv4) until the task is cancelled. Port 0 takes a free
    /// port; `onListening` gets the one bound.
    public static func serve(
        host: String = "127.0.0.1", port: UInt16, onListening: @escaping @Sendable (UInt16) -> Void = { _ in }
    ) async throws {
        let server = try LocalHTTPServer.make(host: host, port: port)
        await server.appendRoute("GET /metrics") { _ in
            HTTPResponse(
                statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: Data(text.utf8))
        }
        try await LocalHTTPServer.run(server, onListening: onListening)
    }
}
