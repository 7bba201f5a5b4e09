internal import CRdKafka

/// The librdkafka library loaded at run time, and the check that it is new enough.
///
/// Quorum builds against whatever `rdkafka.h` the system has, but runs against the library the
/// dynamic loader finds. Debian 12's librdkafka 2.0.2 mis-skips tagged protocol fields (fixed in
/// 2.2.0) and cannot talk to brokers that send them, so every client checks the runtime version.
public enum Librdkafka {
    /// The oldest runtime Quorum accepts: 2.2.0 (librdkafka's hex form `0xMMmmrrxx`).
    public static let minimumVersion: Int32 = 0x0202_00ff

    /// The loaded library's version in librdkafka's hex form.
    public static var runtimeVersion: Int32 { rd_kafka_version() }

    /// The loaded library's version as text, such as `2.16.1`.
    public static var runtimeVersionString: String { String(cString: rd_kafka_version_str()) }

    /// Renders librdkafka's hex version (`0xMMmmrrxx`) as `MM.mm.rr`.
    public static func versionString(hex: Int32) -> String {
        let v = UInt32(bitPattern: hex)
        return "\(v >> 24).\((v >> 16) & 0xff).\((v >> 8) & 0xff)"
    }

    /// Throws ``KafkaError/Code/unsupportedLibrary`` when `version` is older than ``minimumVersion``.
    public static func check(version: Int32 = runtimeVersion) throws(KafkaError) {
        guard version < minimumVersion else { return }
        throw KafkaError(
            code: .unsupportedLibrary,
            message: """
                librdkafka \(versionString(hex: version)) was loaded, but Quorum needs 2.2.0 or newer \
                (older versions cannot parse the tagged protocol fields that current brokers send). \
                Run ops/setup.sh, which installs a current librdkafka into .quorum/lib, and rebuild; \
                or point LD_LIBRARY_PATH at a librdkafka.so.1 of version 2.2 or newer.
                """)
    }
}
