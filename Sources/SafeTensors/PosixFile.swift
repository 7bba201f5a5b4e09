#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `write(2)`, named apart from the method below.
private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}

/// A file descriptor with positioned reads and appending writes, closed when the last reference goes.
///
/// Sendable because the descriptor never changes after `init` and `pread` is safe to call from
/// several threads at once; writes are only made by the single owner of a writer.
final class PosixFile: Sendable {
    /// The open descriptor.
    let descriptor: Int32
    /// The path, for error messages.
    let path: String

    /// Opens `path` for reading.
    init(readingFrom path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SafeTensorsError(.io, "cannot open \(path) for reading: \(Self.lastError()); check the path")
        }
        descriptor = fd
        self.path = path
    }

    /// Creates or truncates `path` for writing.
    init(writingTo path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw SafeTensorsError(
                .io, "cannot create \(path): \(Self.lastError()); check that the folder exists and is writable")
        }
        descriptor = fd
        self.path = path
    }

    deinit { close(descriptor) }

    /// The file's current size in bytes.
    func size() throws -> Int {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw SafeTensorsError(.io, "cannot stat \(path): \(Self.lastError())")
        }
        return Int(info.st_size)
    }

    /// Reads exactly `buffer.count` bytes at `offset`, or throws `.truncated` if the file ends first.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError(.io, "cannot read \(path): \(Self.lastError())")
            }
            if n == 0 {
                throw SafeTensorsError(.truncated, "\(path) ends early at byte \(offset + done); the file is truncated")
            }
            done += n
        }
    }

    /// Reads `count` bytes at `offset` into a new array.
    func read(count: Int, at offset: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { (buffer) in try read(into: buffer, at: offset) }
        return bytes
    }

    /// Writes all of `bytes` at the current position.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = posixWrite(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError(.io, "cannot write \(path): \(Self.lastError()); is the disk full?")
            }
            done += n
        }
    }

    /// The text of the current `errno`.
    static func lastError() -> String { String(cString: strerror(errno)) }
}
