/// Splits text into the pieces that BPE encodes one at a time: words, numbers, punctuation runs and
/// whitespace, exactly as the GPT-2 or Llama-3 splitting regex would, written out by hand.
///
/// Llama-3's pattern (the default) is
/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
/// its `\p{N}{1,3}` cuts digit runs into groups of at most three from the left ("12345" → "123", "45"),
/// which keeps numbers' tokens regular for arithmetic. GPT-2's pattern is
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
/// Both work on Unicode scalars; `\s` is the White_Space property, as in Oniguruma.
public struct PreTokenizer: Sendable, Hashable {
    /// Which splitting regex to follow.
    public enum Pattern: String, Sendable, Hashable, CaseIterable {
        /// Llama-3's pattern: case-insensitive contractions, digits in groups of ≤ 3.
        case llama3
        /// Llama-3's pattern with `\p{N}` in place of `\p{N}{1,3}`: every digit is its own piece, so
        /// every number is spelled digit by digit (as Llama-2's `split_digits` did) — the most regular
        /// form for learning arithmetic, at the price of longer sequences.
        case llama3SingleDigits
        /// GPT-2's pattern: case-sensitive contractions, whole digit runs.
        case gpt2
    }

    /// The splitting rule.
    public var pattern: Pattern
    /// Whether a space is put in front of text that does not start with one (ByteLevel's
    /// `add_prefix_space`), so that a first word splits like any later word.
    public var addPrefixSpace: Bool

    /// A pre-tokenizer with the given pattern (Llama-3 by default) and no prefix space.
    public init(pattern: Pattern = .llama3, addPrefixSpace: Bool = false) {
        self.pattern = pattern
        self.addPrefixSpace = addPrefixSpace
    }

    /// The pieces of `text`, in order; concatenated they give back `text` (plus the prefix space,
    /// if one was added).
    public func pieces(_ text: String) -> [String] {
        let bytes = prepare(Array(text.utf8)[...])
        return byteRanges(bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    /// The UTF-8 bytes that are split: the text's own, after the optional prefix space.
    func prepare(_ text: ArraySlice<UInt8>) -> [UInt8] {
        guard addPrefixSpace && text.first != UInt8(ascii: " ") else { return Array(text) }
        return [UInt8(ascii: " ")] + text
    }

    /// The byte ranges of the pieces of `bytes`, which must be valid UTF-8.
    func byteRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        let scanner = Scanner(bytes)
        var ranges: [Range<Int>] = []
        var index = 0
        while index < scanner.count {
            let end =
                switch pattern {
                case .llama3: scanner.llama3Piece(at: index, maxDigits: 3)
                case .llama3SingleDigits: scanner.llama3Piece(at: index, maxDigits: 1)
                case .gpt2: scanner.gpt2Piece(at: index)
                }
            ranges.append(scanner.offsets[index]..<scanner.offsets[end])
            index = end
        }
        return ranges
    }
}

/// The character classes the splitting patterns distinguish.
private enum ScalarClass: UInt8 {
    /// `\p{L}`.
    case letter
    /// `\p{N}`.
    case number
    /// `\r` or `\n` (also `\s`).
    case newline
    /// Any other `\s`.
    case space
    /// Everything else: `[^\s\p{L}\p{N}]`.
    case other

    /// The class of a scalar, with a table for ASCII.
    init(_ scalar: Unicode.Scalar) {
        if scalar.value < 128 {
            self = ScalarClass.ascii[Int(scalar.value)]
            return
        }
        if scalar.properties.isWhitespace {
            self = .space
            return
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            self = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            self = .number
        default:
            self = .other
        }
    }

    /// Classes of the 128 ASCII scalars.
    private static let ascii: [ScalarClass] = (0..<128).map { value in
        switch UInt8(value) {
        case UInt8(ascii: "\r"), UInt8(ascii: "\n"): .newline
        case 0x09, 0x0B, 0x0C, 0x20: .space
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): .letter
        case UInt8(ascii: "0")...UInt8(ascii: "9"): .number
        default: .other
        }
    }
}

/// The text as scalars with their classes and byte offsets; finds where each piece ends.
private struct Scanner {
    /// The scalars' values.
    let values: [UInt32]
    /// The class of each scalar.
    let classes: [ScalarClass]
    /// The byte offset where each scalar starts, plus the total length at the end.
    let offsets: [Int]
    /// The number of scalars.
    var count: Int { values.count }

    init(_ bytes: [UInt8]) {
        var values: [UInt32] = []
        var classes: [ScalarClass] = []
        var offsets: [Int] = []
        values.reserveCapacity(bytes.count)
        classes.reserveCapacity(bytes.count)
        offsets.reserveCapacity(bytes.count + 1)
        var offset = 0
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            values.append(scalar.value)
            classes.append(ScalarClass(scalar))
            offsets.append(offset)
            offset += UTF8.width(scalar)
        }
        offsets.append(offset)
        self.values = values
        self.classes = classes
        self.offsets = offsets
    }

    private func isLetter(_ i: Int) -> Bool { i < count && classes[i] == .letter }
    private func isNumber(_ i: Int) -> Bool { i < count && classes[i] == .number }
    private func isOther(_ i: Int) -> Bool { i < count && classes[i] == .other }
    private func isNewline(_ i: Int) -> Bool { i < count && classes[i] == .newline }
    private func isWhitespace(_ i: Int) -> Bool { i < count && (classes[i] == .space || classes[i] == .newline) }
    private func isSpaceCharacter(_ i: Int) -> Bool { i < count && values[i] == 0x20 }

    /// The end of the run of scalars of one kind that starts at `start`.
    private func endOfRun(from start: Int, while test: (Int) -> Bool) -> Int {
        var end = start
        while test(end) { end += 1 }
        return end
    }

    /// The end of `'s|'t|'re|'ve|'m|'ll|'d` at `i` (case-folded when `ignoringCase`), if it matches.
    private func contractionEnd(at i: Int, ignoringCase: Bool) -> Int? {
        guard values[i] == 0x27, i + 1 < count else { return nil }
        func folded(_ value: UInt32) -> UInt32 {
            guard ignoringCase else { return value }
            if value == 0x17F { return 0x73 }  // LATIN SMALL LETTER LONG S folds to "s".
            return (0x41...0x5A).contains(value) ? value + 0x20 : value
        }
        let first = folded(values[i + 1])
        if [0x73, 0x74, 0x6D, 0x64].contains(first) { return i + 2 }  // s t m d
        guard i + 2 < count else { return nil }
        let second = folded(values[i + 2])
        switch (first, second) {
        case (0x72, 0x65), (0x76, 0x65), (0x6C, 0x6C): return i + 3  // re ve ll
        default: return nil
        }
    }

    /// Where the Llama-3 piece starting at `i` ends; digit runs are cut every `maxDigits`.
    func llama3Piece(at i: Int, maxDigits: Int) -> Int {
        if let end = contractionEnd(at: i, ignoringCase: true) { return end }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if isLetter(i) { return endOfRun(from: i, while: isLetter) }
        if (isOther(i) || classes[i] == .space) && isLetter(i + 1) { return endOfRun(from: i + 1, while: isLetter) }
        // \p{N}{1,3}
        if isNumber(i) { return min(i + maxDigits, endOfRun(from: i, while: isNumber)) }
        // " ?[^\s\p{L}\p{N}]+[\r\n]*"
        let punctuationStart = isSpaceCharacter(i) && isOther(i + 1) ? i + 1 : i
        if isOther(punctuationStart) {
            let end = endOfRun(from: punctuationStart, while: isOther)
            return endOfRun(from: end, while: isNewline)
        }
        // What is left starts with whitespace.
        let runEnd = endOfRun(from: i, while: isWhitespace)
        // \s*[\r\n]+ : up to and including the run's last newline.
        if let lastNewline = (i..<runEnd).last(where: isNewline) { return lastNewline + 1 }
        return whitespaceEnd(from: i, runEnd: runEnd)
    }

    /// Where the GPT-2 piece starting at `i` ends.
    func gpt2Piece(at i: Int) -> Int {
        if let end = contractionEnd(at: i, ignoringCase: false) { return end }
        let start =
            isSpaceCharacter(i) && i + 1 < count && classes[i + 1] != .space && classes[i + 1] != .newline
            ? i + 1 : i
        switch classes[start] {
        case .letter: return endOfRun(from: start, while: isLetter)
        case .number: return endOfRun(from: start, while: isNumber)
        case .other: return endOfRun(from: start, while: isOther)
        case .space, .newline:
            return whitespaceEnd(from: i, runEnd: endOfRun(from: i, while: isWhitespace))
        }
    }

    /// `\s+(?!\S)|\s+` for a whitespace run `i..<runEnd`: leave the run's last scalar to the next
    /// piece when a non-space follows and the run is longer than one.
    private func whitespaceEnd(from i: Int, runEnd: Int) -> Int {
        if runEnd == count || runEnd - i == 1 { return runEnd }
        return runEnd - 1
    }
}
