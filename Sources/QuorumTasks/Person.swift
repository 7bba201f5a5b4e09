import QuorumCore
/// A character in a problem, with the pronouns its sentences need.
struct Person: Sendable {
    /// The first name.
    let name: String
    /// Subject pronoun: "he" / "she".
    let he: String
    /// Object pronoun: "him" / "her".
    let him: String
    /// Possessive: "his" / "her".
    let his: String

    /// The placeholders a template may use for this person, prefixed: `{name}`, `{he}`, `{him}`, `{his}`.
    func values(prefix: String = "") -> [String: String] {
        [prefix + "name": name, prefix + "he": he, prefix + "him": him, prefix + "his": his]
    }

    /// The pool of first names (varied origins; half with each pronoun set).
    static let pool: [Person] = {
        let women = [
            "Ava", "Mia", "Sofia", "Lena", "Priya", "Aisha", "Chloe", "Emma", "Hana", "Ines", "Julia", "Keiko",
            "Lucia", "Maya", "Nadia", "Olga", "Rosa", "Sara", "Tara", "Zoe", "Amara", "Fatima", "Grace", "Mei",
        ]
        let men = [
            "Tom", "Liam", "Noah", "Omar", "Ravi", "Diego", "Ethan", "Felix", "Hugo", "Ivan", "Jack", "Kenji",
            "Leo", "Marco", "Nikhil", "Oscar", "Pablo", "Sam", "Theo", "Yusuf", "Kwame", "Luca", "Ben", "Arjun",
        ]
        return women.map { Person(name: $0, he: "she", him: "her", his: "her") }
            + men.map { Person(name: $0, he: "he", him: "him", his: "his") }
    }()
}

extension SplitMix64 {
    /// A random person.
    mutating func person() -> Person { pick(Person.pool) }

    /// A random person other than `other`.
    mutating func person(besides other: Person) -> Person {
        var chosen = person()
        while chosen.name == other.name { chosen = person() }
        return chosen
    }
}

/// Words for small multipliers.
enum NumberWords {
    /// "twice", "three times", … for k = 2…5.
    static func times(_ k: Int) -> String {
        switch k {
        case 2: "twice"
        case 3: "three times"
        case 4: "four times"
        default: "\(k) times"
        }
    }

    /// "half", "a third", "a quarter", "a fifth" for k = 2…5.
    static func fraction(_ k: Int) -> String {
        switch k {
        case 2: "half"
        case 3: "a third"
        case 4: "a quarter"
        default: "a fifth"
        }
    }
}
