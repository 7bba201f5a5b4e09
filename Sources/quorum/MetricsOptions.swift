import ArgumentParser
import QuorumMetrics

/// `--metrics-port` / `--metrics-host` of the long-running commands: Prometheus text on `GET /metrics`.
struct MetricsOptions: ParsableArguments {
    @Option(help: "Serve Prometheus metrics on this port (GET /metrics); 0 picks a free port. Off when not given.")
    var metricsPort: UInt16?
    @Option(help: "The address the metrics port binds to (IPv4; loopback unless you open it).")
    var metricsHost = "127.0.0.1"

    /// Starts serving (when a port was given) and returns the serving task to cancel at the end.
    func start(role: String) -> Task<Void, Never>? {
        guard let port = metricsPort else { return nil }
        ProcessMetrics.bootstrap()
        let host = metricsHost
        return Task {
            do {
                try await ProcessMetrics.serve(host: host, port: port) { bound in
                    log("[\(role)] metrics on http://\(host):\(bound)/metrics")
                }
            } catch is CancellationError {
            } catch {
                log("[\(role)] cannot serve metrics on \(host):\(port): \(error); carrying on without them")
            }
        }
    }

    /// The flags for a child process of `quorum run`, `offset` ports above this one (nothing when off,
    /// or when the port is 0: each child then picks its own).
    func forwarded(offset: UInt16) -> [String] {
        guard let port = metricsPort else { return [] }
        return ["--metrics-host", metricsHost, "--metrics-port", port == 0 ? "0" : "\(port &+ offset)"]
    }
}
