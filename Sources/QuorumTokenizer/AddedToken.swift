/// A token outside byte-level BPE, such as `<|bos|>`: matched whole in text and never merged.
public struct AddedToken: Sendable, Hashable {
    /// The token's id.
    public let id: Int32
    /// The token's text, e.g. `<|eos|>`.
    public let content: String
    /// Whether it is a control token (skipped by `decode(_:skipSpecialTokens: true)`).
    public let special: Bool

    /// An added token.
    public init(id: Int32, content: String, special: Bool = true) {
        self.id = id
        self.content = content
        self.special = special
    }
}
