import Foundation

/// Where Quorum keeps its local files: the virtualenv with the broker and librdkafka that
/// `ops/setup.sh` installs (`bin/`, `lib/`) and the embedded stack's data (`stack/`).
///
/// Found as: `$QUORUM_HOME`; else the nearest `.quorum` folder above the running executable
/// (a build inside the checkout); else the nearest one above the working directory; else
/// `./.quorum`.
public struct QuorumHome: Sendable {
    /// The folder itself.
    public let path: String

    /// Uses an explicit folder.
    public init(path: String) { self.path = path }

    /// Locates the folder as described above.
    public static func locate(environment: [String: String]? = nil) -> QuorumHome {
        let environment = environment ?? ProcessInfo.processInfo.environment
        if let explicit = environment["QUORUM_HOME"], !explicit.isEmpty { return QuorumHome(path: explicit) }
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
        for start in [
            executable.deletingLastPathComponent(), URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
        ] {
            if let found = nearestHome(above: start) { return QuorumHome(path: found) }
        }
        return QuorumHome(path: FileManager.default.currentDirectoryPath + "/.quorum")
    }

    private static func nearestHome(above start: URL) -> String? {
        var directory = start.standardizedFileURL
        while true {
            let candidate = directory.appendingPathComponent(".quorum").path
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), isDirectory.boolValue {
                return candidate
            }
            let parent = directory.deletingLastPathComponent()
            if parent.path == directory.path { return nil }
            directory = parent
        }
    }

    /// The embedded stack's folder.
    public var stackDirectory: String { path + "/stack" }
    /// The Tansu broker binary that `ops/setup.sh` links in.
    public var tansuBinary: String { path + "/bin/tansu" }
}
