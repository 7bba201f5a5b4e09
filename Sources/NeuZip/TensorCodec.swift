internal import Dispatch
internal import QuorumDigest
internal import SafeTensors

/// How to compress a checkpoint's float tensors.
public enum CompressionMode: Sendable, Hashable {
    /// Bit-exact: exponents entropy-coded, sign and mantissa stored as they are.
    case lossless
    /// Keep the top `keptBits` mantissa bits, rounding to nearest; `blockSize` > 0 turns on per-block
    /// normalisation with that many elements per block.
    case lossy(keptBits: Int, blockSize: Int)
}

/// Encodes and decodes one tensor as independent chunks, on all cores unless `threads` is 1.
enum TensorCodec {
    /// A tensor coded into chunks, not yet placed in a file.
    struct Encoded {
        /// The table entry (with `offset` still 0).
        var record: TensorRecord
        /// The chunks' bytes, in order.
        var chunks: [[UInt8]]
    }

    /// Compresses `bytes` (little-endian elements of `dtype`) under `mode`.
    static func encode(
        name: String, dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer, mode: CompressionMode,
        elementsPerChunk requestedChunk: Int = CheckpointWriter.defaultElementsPerChunk, threads: Int = 0
    ) throws -> Encoded {
        guard let count = TensorInfo.elementCount(of: shape),
            case (let byteCount, false) = count.multipliedReportingOverflow(by: dtype.byteSize),
            byteCount == bytes.count
        else {
            throw NeuZipError(
                .invalidArgument,
                "tensor \"\(name)\": \(bytes.count) bytes do not fit shape \(shape) of \(dtype.rawValue)")
        }
        var method = StorageMethod.stored
        var keptBits = 0
        var blockSize = 0
        var elementsPerChunk = max(1, requestedChunk)
        let format = FloatFormat(dtype)
        if let format {
            method = .lossless
            keptBits = format.mantissaBits
            if case .lossy(let k, let block) = mode {
                guard (0...format.mantissaBits).contains(k) else {
                    throw NeuZipError(
                        .invalidArgument,
                        "--bits \(k) is out of range for \(dtype.rawValue): use 0…\(format.mantissaBits)")
                }
                guard block >= 0, block <= 1 << 20 else {
                    throw NeuZipError(.invalidArgument, "block size \(block) is out of range: use 0 (off) to 1048576")
                }
                // Lossy coding of inf or NaN has no meaning; such tensors stay lossless.
                if !containsNonFinite(bytes, count: count, format: format) {
                    method = .lossy
                    keptBits = k
                    blockSize = block
                    if block > 0 { elementsPerChunk = max(1, elementsPerChunk / block) * block }
                }
            }
        }
        let chunkCount = (count + elementsPerChunk - 1) / elementsPerChunk
        var results = [ChunkResult?](repeating: nil, count: chunkCount)
        results.withUnsafeMutableBufferPointer { slots in
            forEachChunk(chunkCount, threads: threads) { c in
                let start = c * elementsPerChunk
                let n = min(elementsPerChunk, count - start)
                let slice = UnsafeRawBufferPointer(
                    rebasing: bytes[(start * dtype.byteSize)..<((start + n) * dtype.byteSize)])
                if let format {
                    slots[c] = encodeFloatChunk(
                        slice, count: n, format: format, keptBits: keptBits, blockSize: blockSize,
                        lossy: method == .lossy)
                } else {
                    slots[c] = ChunkResult(bytes: Array(slice), exponentLength: 0, counts: [], maxRelativeError: 0)
                }
                slots[c]!.crc = CRC32C.checksum(slots[c]!.bytes)
            }
        }
        var counts = [Int](repeating: 0, count: 256)
        var maxError = 0.0
        var records: [ChunkRecord] = []
        var chunks: [[UInt8]] = []
        for result in results {
            let result = result!
            for (s, c) in result.counts.enumerated() { counts[s] += c }
            maxError = max(maxError, result.maxRelativeError)
            records.append(
                ChunkRecord(
                    length: result.bytes.count, exponentLength: result.exponentLength,
                    crc: result.crc))
            chunks.append(result.bytes)
        }
        let record = TensorRecord(
            name: name, dtype: dtype, shape: shape, method: method, keptBits: keptBits, blockSize: blockSize,
            elementsPerChunk: elementsPerChunk, exponentEntropy: format == nil ? 0 : FrequencyTable.entropy(of: counts),
            maxRelativeError: maxError, offset: 0, chunks: records)
        return Encoded(record: record, chunks: chunks)
    }

    /// Checks that `record`'s chunk layout agrees with its shape and coding, so that decoding can
    /// allocate `originalByteCount` safely: every element is backed by stored bytes.
    static func validateLayout(_ record: TensorRecord) throws {
        let bad = { (what: String) in NeuZipError.corrupt("tensor \"\(record.name)\": \(what)") }
        guard let count = TensorInfo.elementCount(of: record.shape),
            !count.multipliedReportingOverflow(by: record.dtype.byteSize).overflow
        else { throw bad("impossible shape \(record.shape)") }
        guard record.elementsPerChunk >= 1 else { throw bad("chunks of \(record.elementsPerChunk) elements") }
        let expectedChunks = count == 0 ? 0 : (count - 1) / record.elementsPerChunk + 1
        guard record.chunks.count == expectedChunks else {
            throw bad("\(record.chunks.count) chunks where its shape needs \(expectedChunks)")
        }
        let format = FloatFormat(record.dtype)
        switch record.method {
        case .stored:
            guard record.keptBits == 0, record.blockSize == 0 else { throw bad("stored with coding parameters") }
        case .lossless, .lossy:
            guard let format else { throw bad("\(record.dtype.rawValue) cannot be float-coded") }
            guard (0...format.mantissaBits).contains(record.keptBits),
                record.method == .lossy || (record.keptBits == format.mantissaBits && record.blockSize == 0),
                record.blockSize >= 0, record.blockSize <= 1 << 20,
                record.blockSize == 0 || record.elementsPerChunk % record.blockSize == 0
            else { throw bad("invalid coding parameters") }
        }
        for (c, chunk) in record.chunks.enumerated() {
            let n = min(record.elementsPerChunk, count - c * record.elementsPerChunk)
            if record.method == .stored {
                guard chunk.exponentLength == 0, chunk.length == n * record.dtype.byteSize else {
                    throw bad("chunk \(c) has the wrong length")
                }
            } else {
                let normalisers = record.blockSize > 0 ? (n - 1) / record.blockSize + 1 : 0
                let body = normalisers + FloatSplit.residualByteCount(count: n, keptBits: record.keptBits)
                guard chunk.exponentLength >= 2, chunk.length >= body, chunk.length - body == chunk.exponentLength
                else {
                    throw bad("chunk \(c) has inconsistent section lengths")
                }
            }
        }
    }

    /// Decodes the tensor of a validated `record` from `stored`, its chunks laid back to back.
    static func decode(_ record: TensorRecord, stored: UnsafeRawBufferPointer, threads: Int = 0) throws -> [UInt8] {
        let count = record.elementCount
        let byteSize = record.dtype.byteSize
        var output = [UInt8](repeating: 0, count: count * byteSize)
        var starts: [Int] = []
        var running = 0
        for chunk in record.chunks {
            starts.append(running)
            running += chunk.length
        }
        guard running == stored.count else {
            throw NeuZipError.corrupt("tensor \"\(record.name)\" has the wrong stored length")
        }
        var errors = [NeuZipError?](repeating: nil, count: record.chunks.count)
        output.withUnsafeMutableBytes { out in
            errors.withUnsafeMutableBufferPointer { errors in
                forEachChunk(record.chunks.count, threads: threads) { c in
                    let chunk = record.chunks[c]
                    let first = c * record.elementsPerChunk
                    let n = min(record.elementsPerChunk, count - first)
                    let source = UnsafeRawBufferPointer(rebasing: stored[starts[c]..<(starts[c] + chunk.length)])
                    let destination = UnsafeMutableRawBufferPointer(
                        rebasing: out[(first * byteSize)..<((first + n) * byteSize)])
                    do {
                        guard CRC32C.checksum(source) == chunk.crc else {
                            throw NeuZipError.corrupt("chunk \(c) of tensor \"\(record.name)\" fails its CRC32C check")
                        }
                        if let format = FloatFormat(record.dtype), record.method != .stored {
                            try decodeFloatChunk(
                                source, record: record, count: n, format: format, exponentLength: chunk.exponentLength,
                                into: destination)
                        } else {
                            guard source.count == destination.count else {
                                throw NeuZipError.corrupt("a stored chunk has the wrong length")
                            }
                            destination.copyMemory(from: source)
                        }
                    } catch let error as NeuZipError {
                        errors[c] = error
                    } catch {
                        errors[c] = NeuZipError.corrupt("\(error)")
                    }
                }
            }
        }
        if let error = errors.lazy.compactMap({ $0 }).first { throw error }
        return output
    }

    /// What encoding one chunk produced.
    struct ChunkResult {
        /// The chunk's bytes.
        var bytes: [UInt8]
        /// Bytes of its exponent section.
        var exponentLength: Int
        /// Histogram of its exponent symbols (empty for stored chunks).
        var counts: [Int]
        /// Largest relative error of its elements (0 unless lossy).
        var maxRelativeError: Double
        /// CRC32C of `bytes`.
        var crc: UInt32 = 0
    }

    /// Codes one chunk of float elements: [exponent section][normaliser bytes][packed residuals].
    static func encodeFloatChunk(
        _ source: UnsafeRawBufferPointer, count: Int, format: FloatFormat, keptBits: Int, blockSize: Int, lossy: Bool
    ) -> ChunkResult {
        var normalisers: [UInt8] = []
        var maxError = 0.0
        var rounded: [UInt8] = []
        if lossy {
            rounded = [UInt8](repeating: 0, count: source.count)
            (normalisers, maxError) = rounded.withUnsafeMutableBytes {
                LossyRounding.roundChunk(
                    source, count: count, format: format, keptBits: keptBits, blockSize: blockSize, into: $0)
            }
        }
        var exponents = [UInt8](repeating: 0, count: count)
        var residuals = [UInt8](repeating: 0, count: FloatSplit.residualByteCount(count: count, keptBits: keptBits))
        exponents.withUnsafeMutableBufferPointer { e in
            residuals.withUnsafeMutableBytes { r in
                if lossy {
                    rounded.withUnsafeBytes {
                        FloatSplit.split(
                            $0, count: count, format: format, keptBits: keptBits, exponents: e, residuals: r)
                    }
                } else {
                    FloatSplit.split(
                        source, count: count, format: format, keptBits: keptBits, exponents: e, residuals: r)
                }
            }
        }
        let counts = exponents.withUnsafeBufferPointer { ExponentCoder.histogram($0) }
        var bytes = exponents.withUnsafeBufferPointer { ExponentCoder.encode($0, counts: counts) }
        let exponentLength = bytes.count
        bytes.reserveCapacity(exponentLength + normalisers.count + residuals.count)
        bytes += normalisers
        bytes += residuals
        return ChunkResult(bytes: bytes, exponentLength: exponentLength, counts: counts, maxRelativeError: maxError)
    }

    /// Decodes one float chunk into `destination`, checking every length against the record.
    static func decodeFloatChunk(
        _ source: UnsafeRawBufferPointer, record: TensorRecord, count: Int, format: FloatFormat, exponentLength: Int,
        into destination: UnsafeMutableRawBufferPointer
    ) throws {
        let normaliserCount = record.blockSize > 0 ? (count + record.blockSize - 1) / record.blockSize : 0
        let residualCount = FloatSplit.residualByteCount(count: count, keptBits: record.keptBits)
        guard exponentLength >= 2, exponentLength + normaliserCount + residualCount == source.count else {
            throw NeuZipError.corrupt("a chunk of tensor \"\(record.name)\" has inconsistent section lengths")
        }
        var exponents = [UInt8](repeating: 0, count: count)
        try exponents.withUnsafeMutableBufferPointer { e in
            try ExponentCoder.decode(
                UnsafeRawBufferPointer(rebasing: source[0..<exponentLength]), count: count, into: e)
        }
        let residuals = UnsafeRawBufferPointer(rebasing: source[(exponentLength + normaliserCount)...])
        exponents.withUnsafeBufferPointer { e in
            FloatSplit.merge(
                exponents: e, residuals: residuals, count: count, format: format, keptBits: record.keptBits,
                into: destination)
        }
        if record.blockSize > 0 {
            for b in 0..<normaliserCount {
                let divisor = LossyRounding.divisor(source[exponentLength + b])
                let end = min((b + 1) * record.blockSize, count)
                for i in (b * record.blockSize)..<end {
                    let q = format.load(UnsafeRawBufferPointer(destination), i)
                    format.store(LossyRounding.denormalise(q, format, divisor: divisor), destination, i)
                }
            }
        }
    }

    /// Whether any element is ±inf or NaN.
    static func containsNonFinite(_ bytes: UnsafeRawBufferPointer, count: Int, format: FloatFormat) -> Bool {
        for i in 0..<count where format.isNonFinite(format.load(bytes, i)) { return true }
        return false
    }

    /// Runs `body` for each chunk index: on one core when `threads` is 1, else on all cores.
    ///
    /// - Important: `body` may run concurrently for different indices; each call must only write
    ///   memory that belongs to its own index (its chunk's output slot or byte range).
    static func forEachChunk(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        if threads == 1 || count <= 1 {
            for c in 0..<count { body(c) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // Safe: concurrentPerform returns only after every iteration has finished, and the
            // iterations write disjoint memory (see above).
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: count) { body($0) }
        }
    }
}
