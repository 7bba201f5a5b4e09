import Foundation

/// Finds and normalises final answers in model output, GSM8K style (`#### <number>`).
public enum AnswerExtractor {
    /// The normalised answer on the last line that holds `####`, or nil ("no answer") when no line
    /// does or what follows the last `####` on it is not a number.
    ///
    /// Tolerated around the number: spaces, a `$`, thousands commas (`1,234`), a sign and a trailing
    /// period. Anything else after it, such as a unit (`#### 12 apples`), makes the answer nil, so
    /// only clean answers vote.
    public static func extract(from response: String) -> String? {
        guard
            let line = response.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
                .last(where: { $0.contains("####") }),
            let marker = line.range(of: "####", options: .backwards)
        else { return nil }
        return normalize(String(line[marker.upperBound...]))
    }

    /// A canonical form of a numeric answer, so equal numbers compare equal in votes:
    /// `"042"` → `"42"`, `"3.0"` → `"3"`, `"-0"` → `"0"`, `"$1,234."` → `"1234"`, `"2.50"` → `"2.5"`.
    /// Nil if `text` is not a number.
    public static func normalize(_ text: String) -> String? {
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        if body.hasSuffix(".") { body = body.dropLast() }
        body = Substring(body.trimmingCharacters(in: .whitespaces))
        if body.first == "$" { body = body.dropFirst() }
        var negative = false
        if let sign = body.first, sign == "-" || sign == "+" || sign == "−" {
            negative = sign != "+"
            body = body.dropFirst()
        }
        if body.first == "$" { body = body.dropFirst() }
        body = Substring(body.trimmingCharacters(in: .whitespaces))
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty else { return nil }
        let integerText = parts[0]
        guard validGrouping(integerText) else { return nil }
        let digits = integerText.filter { $0 != "," }
        guard digits.allSatisfy(\.isASCIIDigit) else { return nil }
        var fraction = parts.count == 2 ? Substring(parts[1]) : ""
        guard fraction.allSatisfy(\.isASCIIDigit), parts.count == 1 || !fraction.isEmpty else { return nil }
        while fraction.last == "0" { fraction = fraction.dropLast() }
        var integer = Substring(digits).drop { $0 == "0" }
        if integer.isEmpty { integer = "0" }
        let magnitude = fraction.isEmpty ? String(integer) : "\(integer).\(fraction)"
        return negative && magnitude != "0" ? "-" + magnitude : magnitude
    }

    /// Whether commas, if any, group digits in threes (`1,234,567`; not `12,34`).
    private static func validGrouping(_ text: Substring) -> Bool {
        guard text.contains(",") else { return true }
        let groups = text.split(separator: ",", omittingEmptySubsequences: false)
        guard let first = groups.first, (1...3).contains(first.count) else { return false }
        return groups.dropFirst().allSatisfy { $0.count == 3 }
    }
}

extension Character {
    /// Whether this is one of `0`…`9`.
    fileprivate var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
