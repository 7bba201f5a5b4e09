import ArgumentParser
import QuorumDashboard
import QuorumStack

/// `quorum dashboard`: a live page of every pipeline and experiment in the database.
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Serve a live page of every pipeline and experiment (read-only) until stopped.",
        discussion: """
            Pipelines with their rounds (state, progress, ETA), held-out accuracy per model, pair-weight histograms, \
            throughput, SCPO loss and reward-margin curves, the workers' and sink's heartbeats, experiment tables with \
            their accuracy plots, and the latest dead letters. The page redraws itself every three seconds; it loads \
            nothing from the internet. Loopback unless --host opens it.
            """)

    @OptionGroup var endpoints: EndpointOptions
    @Option(help: "The port to serve on (0 picks a free one).") var port: UInt16 = 8470
    @Option(help: "The address to bind (IPv4).") var host = "127.0.0.1"
    @OptionGroup var metrics: MetricsOptions

    func run() async throws {
        let serving = metrics.start(role: "dashboard")
        defer { serving?.cancel() }
        let database = endpoints.database
        let (host, port) = (self.host, self.port)
        try rethrowUnlessStopped(
            await awaitUntilStopped(
                Task {
                    try await DashboardServer.serve(database: database, host: host, port: port) { bound in
                        log("[dashboard] http://\(host):\(bound)/ (Ctrl-C stops)")
                    }
                }))
    }
}
