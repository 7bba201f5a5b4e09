public import Logging
import Foundation
import Synchronization

/// How Quorum's processes write their logs: one line per event with time, level, source and message,
/// as text or as JSON, to standard error or to a file that is rotated by size.
///
/// Configured by the environment, so `quorum run`'s children inherit it: `QUORUM_LOG_FORMAT`
/// (`text`, `json`), `QUORUM_LOG_LEVEL` (swift-log's levels), `QUORUM_LOG_FILE` (a path; rotated at
/// 10 MiB into `PATH.1` … `PATH.3`).
public enum QuorumLogging {
    /// The line format.
    public enum Format: String, Sendable, CaseIterable { case text, json }

    /// What the environment asks for.
    public struct Settings: Sendable, Equatable {
        public var format: Format = .text
        public var level: Logger.Level = .info
        public var file: String?

        /// Reads `QUORUM_LOG_FORMAT`, `QUORUM_LOG_LEVEL` and `QUORUM_LOG_FILE`; an unknown value is
        /// reported in `problems` and the default kept.
        public static func from(environment: [String: String]) -> (settings: Settings, problems: [String]) {
            var settings = Settings()
            var problems: [String] = []
            if let text = environment["QUORUM_LOG_FORMAT"], !text.isEmpty {
                if let format = Format(rawValue: text) { settings.format = format } else {
                    problems.append("QUORUM_LOG_FORMAT=\(text) is not text or json; using text")
                }
            }
            if let text = environment["QUORUM_LOG_LEVEL"], !text.isEmpty {
                if let level = Logger.Level(rawValue: text) { settings.level = level } else {
                    let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                    problems.append("QUORUM_LOG_LEVEL=\(text) is not one of \(levels); using info")
                }
            }
            settings.file = environment["QUORUM_LOG_FILE"].flatMap { $0.isEmpty ? nil : $0 }
            return (settings, problems)
        }
    }

    /// Routes every swift-log logger of this process through ``QuorumLogHandler``. Call once, first.
    public static func bootstrap(environment: [String: String]? = nil) {
        let (settings, problems) = Settings.from(environment: environment ?? ProcessInfo.processInfo.environment)
        let sink = LogSink(file: settings.file)
        LoggingSystem.bootstrap { label in
            QuorumLogHandler(label: label, format: settings.format, logLevel: settings.level, sink: sink)
        }
        let logger = Logger(label: "quorum")
        for problem in problems { logger.warning("\(problem)") }
    }
}

/// Where the lines go: standard error, or a file rotated by size. One per process, shared by every
/// logger; writes are serialized.
final class LogSink: Sendable {
    /// A file larger than this is rotated before the next line.
    static let rotateBytes = 10 << 20
    /// Rotated files kept (`PATH.1` is the newest).
    static let keep = 3

    private let path: String?
    private let state: Mutex<(handle: FileHandle?, size: Int)>

    init(file: String?) {
        path = file
        state = Mutex((handle: nil, size: 0))
    }

    func write(_ line: String) {
        let data = Data((line + "\n").utf8)
        guard let path else {
            FileHandle.standardError.write(data)
            return
        }
        state.withLock { state in
            if state.handle == nil || state.size + data.count > Self.rotateBytes {
                if state.handle != nil || (Self.size(of: path) ?? 0) + data.count > Self.rotateBytes {
                    try? state.handle?.close()
                    Self.rotate(path)
                }
                if !FileManager.default.fileExists(atPath: path) {
                    _ = FileManager.default.createFile(atPath: path, contents: nil)
                }
                state.handle = FileHandle(forWritingAtPath: path)
                state.size = Int((try? state.handle?.seekToEnd()) ?? 0)
            }
            guard let handle = state.handle else {
                FileHandle.standardError.write(data)  // the file cannot be opened: lose nothing
                return
            }
            handle.write(data)
            state.size += data.count
        }
    }

    static func size(of path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
    }

    /// PATH.2 → PATH.3, PATH.1 → PATH.2, PATH → PATH.1 (the oldest is dropped).
    static func rotate(_ path: String) {
        let manager = FileManager.default
        try? manager.removeItem(atPath: "\(path).\(keep)")
        for index in stride(from: keep - 1, through: 1, by: -1) {
            try? manager.moveItem(atPath: "\(path).\(index)", toPath: "\(path).\(index + 1)")
        }
        try? manager.moveItem(atPath: path, toPath: "\(path).1")
    }
}

/// One line per event: `2026-12-08T01:02:03.456Z info  [label] message key=value` as text, or a JSON
/// object with `time`, `level`, `label`, `message` and the metadata.
public struct QuorumLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let format: QuorumLogging.Format
    let sink: LogSink

    init(label: String, format: QuorumLogging.Format, logLevel: Logger.Level, sink: LogSink) {
        self.label = label
        self.format = format
        self.logLevel = logLevel
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        sink.write(Self.line(
            time: Date(), level: event.level, label: label, message: event.message.description, metadata: merged,
            format: format))
    }

    /// The formatted line (without the newline).
    static func line(
        time: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata,
        format: QuorumLogging.Format
    ) -> String {
        let stamp = time.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        switch format {
        case .text:
            let pairs = metadata.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
            let padded = level.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)
            return "\(stamp) \(padded) [\(label)] \(message)\(pairs)"
        case .json:
            var object: [String: String] = ["time": stamp, "level": level.rawValue, "label": label, "message": message]
            for (key, value) in metadata where object[key] == nil { object[key] = "\(value)" }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
    }
}
