/// FNV-1a, 64-bit (Fowler, Noll, Vo): a stable hash of bytes, the same on every platform and run
/// (unlike `Hasher`, which is seeded per process).
public enum FNV1a {
    /// The hash of `bytes`.
    public static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// The hash of a string's UTF-8 bytes.
    public static func hash(_ text: String) -> UInt64 { hash(text.utf8) }
}

/// Which random stream each sample of a problem draws from: sample `j` of the problem with id `id`
/// uses stream `first(id) + j`, so the same problem gives the same samples whichever worker, batch or
/// command draws it (the pipeline's workers, `quorum task sample`, evaluation, experiments).
public enum SampleStreams {
    /// The first stream of the problem `id`: its FNV-1a hash, shifted so that problems' streams never
    /// overlap for fewer than 65 536 samples each.
    public static func first(problemID id: String) -> UInt64 { FNV1a.hash(id) << 16 }

    /// The stream of sample `sample` of problem `id`.
    public static func stream(problemID id: String, sample: Int) -> UInt64 {
        first(problemID: id) &+ UInt64(sample)
    }
}
