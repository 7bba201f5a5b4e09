import Foundation

/// How a tokenizer encodes a corpus, as `quorum tokenizer encode` reports it: speed, compression, and
/// whether every text decodes back to itself.
public struct EncodingReport: Encodable, Sendable {
    public var texts: Int
    public var tokens: Int
    public var bytes: Int
    public var seconds: Double
    public var tokensPerSecond: Int
    public var bytesPerToken: Double
    public var roundTripFailures: Int

    /// Encodes `texts` with `tokenizer`, timing it, then decodes each back.
    public init(tokenizer: BPETokenizer, texts: [String]) {
        let start = ContinuousClock.now
        let encoded = texts.map { tokenizer.encode($0, parseSpecialTokens: false) }
        let elapsed = ContinuousClock.now - start
        let seconds = max(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18, 1e-9)
        self.texts = texts.count
        tokens = encoded.reduce(0) { $0 + $1.count }
        bytes = texts.reduce(0) { $0 + $1.utf8.count }
        self.seconds = (seconds * 1000).rounded() / 1000
        tokensPerSecond = Int(Double(tokens) / seconds)
        bytesPerToken = (Double(bytes) / Double(max(tokens, 1)) * 100).rounded() / 100
        roundTripFailures = zip(texts, encoded).filter { tokenizer.decode($1) != $0 }.count
    }

    enum CodingKeys: String, CodingKey {
        case texts, tokens, bytes, seconds, tokensPerSecond = "tokens_per_second", bytesPerToken = "bytes_per_token"
        case roundTripFailures = "round_trip_failures"
    }

    /// The report in one line.
    public var line: String {
        "\(tokens) tokens from \(texts) texts in \(String(format: "%.3f", seconds)) s "
            + "(\(tokensPerSecond) tokens/s, \(String(format: "%.2f", bytesPerToken)) bytes/token); "
            + "\(roundTripFailures) round-trip failures"
    }
}
