import Foundation
import Logging
import Testing

@testable import QuorumLogging

@Suite("Log lines")
struct QuorumLogHandlerTests {
    static let time = Date(timeIntervalSince1970: 1_796_700_000.25)

    @Test func textLinesCarryTimeLevelLabelAndMetadata() {
        let line = QuorumLogHandler.line(
            time: Self.time, level: .warning, label: "librdkafka", message: "1/1 brokers are down",
            metadata: ["facility": "FAIL", "client": "rdkafka#producer-2"], format: .text)
        #expect(line == "2026-12-08T03:20:00.250Z warning [librdkafka] 1/1 brokers are down client=rdkafka#producer-2 facility=FAIL")
    }

    @Test func jsonLinesParseAndKeepTheMessageWhole() throws {
        let message = "round 1: \"quoted\"\nand a second line"
        let line = QuorumLogHandler.line(
            time: Self.time, level: .info, label: "quorum", message: message, metadata: ["pipeline": "demo"],
            format: .json)
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object == ["time": "2026-12-08T03:20:00.250Z", "level": "info", "label": "quorum", "message": message, "pipeline": "demo"])
    }

    @Test func settingsComeFromTheEnvironmentAndBadValuesAreNamed() {
        let good = QuorumLogging.Settings.from(environment: [
            "QUORUM_LOG_FORMAT": "json", "QUORUM_LOG_LEVEL": "debug", "QUORUM_LOG_FILE": "/tmp/x.log",
        ])
        #expect(good.settings == .init(format: .json, level: .debug, file: "/tmp/x.log"))
        #expect(good.problems.isEmpty)
        let bad = QuorumLogging.Settings.from(environment: ["QUORUM_LOG_FORMAT": "xml", "QUORUM_LOG_LEVEL": "loud"])
        #expect(bad.settings == .init())
        #expect(bad.problems.count == 2)
        #expect(bad.problems[0].contains("QUORUM_LOG_FORMAT=xml"))
        #expect(bad.problems[1].contains("trace, debug, info"))
    }

    @Test func aFileIsRotatedBySizeKeepingThree() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("quorum-log-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("worker.log").path
        let sink = LogSink(file: path)
        let line = String(repeating: "x", count: 1 << 20)  // 1 MiB a line: a rotation every ten lines
        for index in 0..<45 { sink.write("\(index) " + line) }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names == ["worker.log", "worker.log.1", "worker.log.2", "worker.log.3"])
        for name in names { #expect((LogSink.size(of: folder.appendingPathComponent(name).path) ?? 0) <= LogSink.rotateBytes) }
        // Nothing lost between the live file and the newest rotated one: line 44 is last, 43 before it.
        let live = try String(contentsOfFile: path, encoding: .utf8)
        #expect(live.hasSuffix("x\n") && live.contains("44 x"))
        let rotated = try String(contentsOfFile: path + ".1", encoding: .utf8)
        #expect(rotated.split(separator: "\n").count == 9 || rotated.split(separator: "\n").count == 10)
    }
}
