internal import SafeTensors

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// Appends little-endian fields to a byte array.
struct ByteWriter {
    /// The bytes written so far.
    var bytes: [UInt8] = []

    /// Appends a byte.
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    /// Appends a little-endian u32.
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    /// Appends a little-endian u64.
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    /// Appends a Double's bit pattern.
    mutating func f64(_ v: Double) { u64(v.bitPattern) }
    /// Appends a u32 length and the UTF-8 bytes.
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(utf8.count))
        bytes += utf8
    }
}

/// Reads little-endian fields from a byte array, throwing instead of ever reading past the end.
struct ByteReader {
    /// The bytes being read.
    let bytes: [UInt8]
    /// The next position.
    var position = 0
    /// What is being read, for error messages.
    let context: String

    /// Bytes not yet read.
    var remaining: Int { bytes.count - position }

    /// The next `n` bytes.
    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else { throw NeuZipError.corrupt("the \(context) is cut short") }
        defer { position += n }
        return bytes[position..<(position + n)]
    }
    /// The next byte.
    mutating func u8() throws -> UInt8 { try take(1).first! }
    /// The next little-endian u32.
    mutating func u32() throws -> UInt32 { try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) } }
    /// The next little-endian u64.
    mutating func u64() throws -> UInt64 { try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) } }
    /// The next Double.
    mutating func f64() throws -> Double { Double(bitPattern: try u64()) }
    /// A u64 that must fit in `Int` and be at most `limit`.
    mutating func int(max limit: Int = Int.max) throws -> Int {
        let v = try u64()
        guard v <= UInt64(limit) else { throw NeuZipError.corrupt("a field of the \(context) is out of range") }
        return Int(v)
    }
    /// The next length-prefixed UTF-8 string.
    mutating func string() throws -> String {
        let n = Int(try u32())
        guard let s = String(validating: try take(n), as: UTF8.self) else {
            throw NeuZipError.corrupt("a name in the \(context) is not valid UTF-8")
        }
        return s
    }
}

/// Where a checkpoint's bytes come from: a file (positioned reads) or memory.
enum ByteSource: Sendable {
    /// An open file.
    case file(ReadFile)
    /// Bytes in memory.
    case memory([UInt8])

    /// Total size in bytes.
    var size: Int {
        switch self {
        case .file(let f): f.size
        case .memory(let b): b.count
        }
    }

    /// Reads `count` bytes at `offset`; callers check the range against `size` first.
    func read(count: Int, at offset: Int) throws -> [UInt8] {
        guard count >= 0, offset >= 0, offset <= size, count <= size - offset else {
            throw NeuZipError(.truncated, "a read at \(offset)+\(count) runs past the end of the \(size)-byte file")
        }
        switch self {
        case .file(let f): return try f.read(count: count, at: offset)
        case .memory(let b): return Array(b[offset..<(offset + count)])
        }
    }
}

/// A read-only file with positioned reads; Sendable because the descriptor never changes and
/// `pread` may be called from several threads at once.
final class ReadFile: Sendable {
    /// The open descriptor.
    let descriptor: Int32
    /// The path, for messages.
    let path: String
    /// The size when opened.
    let size: Int

    /// Opens `path` for reading.
    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NeuZipError(.io, "cannot open \(path): \(errorText()); check the path") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw NeuZipError(.io, "cannot stat \(path): \(errorText())")
        }
        descriptor = fd
        self.path = path
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// Reads exactly `count` bytes at `offset`.
    func read(count: Int, at offset: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while done < count {
                let n = pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw NeuZipError(.truncated, "\(path) ends early (or cannot be read) at byte \(offset + done)")
                }
                done += n
            }
        }
        return bytes
    }
}

/// Where a checkpoint's bytes go: a file or memory, appended in order.
final class ByteSink {
    /// The open descriptor, or -1 in memory mode or after `close`.
    private var descriptor: Int32 = -1
    /// The bytes, in memory mode.
    private(set) var memory: [UInt8] = []
    /// The file, or nil in memory mode.
    let path: String?
    /// Bytes written so far.
    private(set) var written = 0

    /// Collects bytes in memory.
    init() { path = nil }

    /// Creates or truncates `path`.
    init(path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw NeuZipError(
                .io, "cannot create \(path): \(errorText()); check that the folder exists and is writable")
        }
        descriptor = fd
        self.path = path
    }

    deinit { if descriptor >= 0 { _ = closeDescriptor(descriptor) } }

    /// Appends `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        written += bytes.count
        guard let path else {
            memory.append(contentsOf: bytes)
            return
        }
        var done = 0
        while done < bytes.count {
            let n = posixWrite(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw NeuZipError(.io, "cannot write \(path): \(errorText()); is the disk full?") }
            done += n
        }
    }

    /// Closes the file (a no-op in memory mode).
    func close() throws {
        if descriptor >= 0 {
            let result = closeDescriptor(descriptor)
            descriptor = -1
            guard result == 0 else { throw NeuZipError(.io, "cannot close \(path ?? ""): \(errorText())") }
        }
    }
}

private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(fd, bytes, count) }
private func closeDescriptor(_ fd: Int32) -> Int32 { close(fd) }
private func errorText() -> String { String(cString: strerror(errno)) }
