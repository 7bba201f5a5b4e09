import CoreMetrics
import Foundation
import QuorumMetrics
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("The metrics endpoint")
struct MetricsEndpointTests {
    @Test func servesWhatTheLibrariesRecordAsPrometheusText() async throws {
        ProcessMetrics.bootstrap()
        let stored = Counter(label: "quorum_test_records_total", dimensions: [("outcome", "stored")])
        stored.increment(by: 41)
        stored.increment()
        Recorder(label: "quorum_test_seconds", aggregate: true).record(0.25)

        let port = Mutex<UInt16?>(nil)
        let server = Task { try await ProcessMetrics.serve(port: 0) { bound in port.withLock { $0 = bound } } }
        defer { server.cancel() }
        var bound: UInt16?
        for _ in 0..<100 where bound == nil {
            try await Task.sleep(for: .milliseconds(50))
            bound = port.withLock { $0 }
        }
        let listening = try #require(bound, "the server never said which port it bound")
        let url = try #require(URL(string: "http://127.0.0.1:\(listening)/metrics"))
        let (data, response) = try await URLSession.shared.data(from: url)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("text/plain") == true)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("# TYPE quorum_test_records_total counter"))
        #expect(text.contains(#"quorum_test_records_total{outcome="stored"} 42"#))
        #expect(text.contains("quorum_test_seconds_count 1"))

        let missing = try #require(URL(string: "http://127.0.0.1:\(listening)/other"))
        let (_, other) = try await URLSession.shared.data(from: missing)
        #expect((other as? HTTPURLResponse)?.statusCode == 404)
    }
}
