/// The settings of the running-total stories; each becomes one template.
enum TallyDomains {
    /// Gains any countable-objects domain can use.
    private static let objectGains = [
        Phrase("{friend} gives {him} {n} more {unit}.", "With {friend}'s gift, {name} has {e} {unit}."),
        Phrase("{he} buys {n} more {unit}.", "After buying more, {name} has {e} {unit}."),
        Phrase("{he} finds {n} {unit} in the garage.", "Adding the ones {he} found gives {e} {unit}."),
        Phrase("The next day {he} gets another {n} {unit}.", "Now {he} has {e} {unit}."),
    ]
    /// Losses any countable-objects domain can use.
    private static let objectLosses = [
        Phrase("{he} gives {n} {unit} to {friend}.", "After giving some to {friend}, {name} has {e} {unit}."),
        Phrase("{he} loses {n} of them on the way home.", "After losing some, {he} has {e} {unit} left."),
        Phrase("{friend} borrows {n} {unit} and does not return them.", "That leaves {e} {unit}."),
        Phrase("{he} trades away {n} {unit}.", "After the trade {name} has {e} {unit}."),
    ]
    /// Multiplications any countable-objects domain can use.
    private static let objectMultiplies = [
        Phrase("By the end of the month {he} has {times} as many {unit} as before.", "{name} now has {e} {unit}."),
        Phrase("{his} collection grows to {times} its size.", "The collection is now {e} {unit}."),
    ]
    /// Equal sharing that keeps one share.
    private static let objectKeepShares = [
        Phrase(
            "{he} shares the {unit} equally with {others} friends, keeping one share for {him}self.",
            "Split {k} ways, each share is {e} {unit}, so {name} keeps that many."),
        Phrase(
            "{he} splits the {unit} into {k} equal piles and keeps only one pile.",
            "One pile holds {e} {unit}."),
    ]
    /// Two-step additions of whole groups.
    private static let objectGainGroups = [
        (
            Phrase("Then {he} buys {a} more {groups} with {b} {unit} in each.", "The new {groups} hold {e} {unit}."),
            Phrase("", "Altogether {name} has {e} {unit}.")
        ),
        (
            Phrase(
                "{friend} brings {a} {groups} of {b} {unit} each and gives them all to {name}.",
                "{friend} brings {e} {unit}."),
            Phrase("", "So {name} has {e} {unit}.")
        ),
    ]
    /// Two-step losses of a fraction.
    private static let objectLossFractions = [
        (
            Phrase("{he} gives {fraction} of {his} {unit} to {friend}.", "{friend} gets {e} {unit}."),
            Phrase("", "{name} keeps {e} {unit}.")
        ),
        (
            Phrase("{fraction} of the {unit} get damaged and are thrown away.", "The damaged ones number {e}."),
            Phrase("", "What is left is {e} {unit}.")
        ),
    ]
    /// Closing questions for objects.
    private static let objectQuestions = [
        "How many {unit} does {name} have now?", "How many {unit} does {name} have left?",
        "How many {unit} does {name} end up with?",
    ]
    /// Closing equal splits for objects.
    private static let objectFinalShares = [
        Phrase(
            "{he} packs them equally into {k} {groups}. How many {unit} are in each {group}?",
            "Each {group} gets {e} {unit}."),
        Phrase(
            "{he} divides them equally among {k} classmates. How many {unit} does each classmate get?",
            "Each classmate gets {e} {unit}."),
    ]

    /// All domains.
    static let all: [TallyDomain] = [fruit, collection, bakery, farm, shop, savings, reading, garden, party, game]

    /// Fruit at home.
    static let fruit = TallyDomain(
        name: "fruit", units: ["apples", "oranges", "pears", "plums", "lemons", "peaches"],
        groups: [("box", "boxes"), ("bag", "bags"), ("basket", "baskets"), ("crate", "crates")],
        start: [
            "{name} has {n} {unit}.", "There are {n} {unit} in {name}'s kitchen.",
            "{name} picks {n} {unit} from a tree.",
        ],
        startGroups: [
            Phrase("{name} has {a} {groups} of {unit} with {b} {unit} in each {group}.", "{name} has {e} {unit}."),
            Phrase("{name} buys {a} {groups} of {unit}, and each {group} holds {b} {unit}.", "{name} buys {e} {unit}."),
        ],
        gains: objectGains + [Phrase("{he} picks {n} more {unit} from the orchard.", "Now there are {e} {unit}.")],
        losses: objectLosses + [
            Phrase("The family eats {n} {unit} at lunch.", "After lunch {e} {unit} remain."),
            Phrase("{he} uses {n} {unit} to make juice.", "After making juice {he} has {e} {unit}."),
        ],
        multiplies: [
            Phrase(
                "{friend} gives {him} so many that {he} has {times} as many {unit} as before.",
                "{name} now has {e} {unit}.")
        ],
        keepShare: objectKeepShares, gainGroups: objectGainGroups, lossFraction: objectLossFractions,
        questions: objectQuestions + ["How many {unit} are there now?"], finalShares: objectFinalShares)

    /// Hobby collections.
    static let collection = TallyDomain(
        name: "collection", units: ["marbles", "stickers", "stamps", "trading cards", "seashells", "beads"],
        groups: [("jar", "jars"), ("pack", "packs"), ("album page", "album pages"), ("tin", "tins")],
        start: [
            "{name} has {n} {unit} in {his} collection.", "{name} owns {n} {unit}.",
            "{name} starts the year with {n} {unit}.",
        ],
        startGroups: [
            Phrase("{name} has {a} {groups} with {b} {unit} each.", "{name} has {e} {unit}."),
            Phrase("{name} collects {b} {unit} every week for {a} weeks.", "{name} collects {e} {unit}."),
        ],
        gains: objectGains + [Phrase("{he} wins {n} {unit} in a contest.", "With the prize {he} has {e} {unit}.")],
        losses: objectLosses, multiplies: objectMultiplies, keepShare: objectKeepShares, gainGroups: objectGainGroups,
        lossFraction: objectLossFractions,
        questions: objectQuestions + ["How many {unit} are in {name}'s collection now?"],
        finalShares: objectFinalShares)

    /// Baking and selling.
    static let bakery = TallyDomain(
        name: "bakery", units: ["cookies", "muffins", "cupcakes", "bread rolls", "pancakes", "brownies"],
        groups: [("tray", "trays"), ("batch", "batches"), ("box", "boxes")],
        start: ["{name} bakes {n} {unit}.", "{name}'s bakery has {n} {unit} on the counter in the morning."],
        startGroups: [
            Phrase("{name} bakes {a} {groups} of {unit} with {b} {unit} per {group}.", "{name} bakes {e} {unit}."),
            Phrase("{name} makes {a} {groups} of {unit}, {b} in each.", "That makes {e} {unit}."),
        ],
        gains: [
            Phrase("{he} bakes {n} more {unit} in the afternoon.", "Now there are {e} {unit}."),
            Phrase("{friend} drops off {n} {unit} {friend.he} made.", "With {friend}'s {unit} there are {e}."),
        ],
        losses: [
            Phrase("{he} sells {n} {unit} before noon.", "After the sales {e} {unit} are left."),
            Phrase("{his} family eats {n} of the {unit}.", "After that {e} {unit} remain."),
            Phrase("{n} {unit} get burnt and are thrown away.", "Without the burnt ones there are {e} {unit}."),
        ],
        multiplies: [
            Phrase("For a fair {he} bakes until {he} has {times} as many {unit}.", "{he} then has {e} {unit}.")
        ],
        keepShare: [],
        gainGroups: [
            (
                Phrase("{he} bakes {a} more {groups} with {b} {unit} each.", "The extra {groups} make {e} {unit}."),
                Phrase("", "In total there are {e} {unit}.")
            )
        ],
        lossFraction: [
            (
                Phrase("{he} sells {fraction} of the {unit} at the market.", "{he} sells {e} {unit}."),
                Phrase("", "So {e} {unit} are left.")
            )
        ],
        questions: ["How many {unit} are left?", "How many {unit} does {name} have now?"],
        finalShares: [
            Phrase(
                "{he} puts them equally into {k} boxes. How many {unit} go in each box?", "Each box gets {e} {unit}."),
            Phrase(
                "{he} shares them equally among {k} neighbours. How many {unit} does each neighbour get?",
                "Each neighbour gets {e} {unit}."),
        ])

    /// Eggs on a farm.
    static let farm = TallyDomain(
        name: "farm", units: ["eggs"], groups: [("carton", "cartons"), ("basket", "baskets")],
        start: ["{name} collects {n} eggs on Monday.", "There are {n} eggs in {name}'s barn."],
        startGroups: [
            Phrase("{name} has {a} hens, and each hen lays {b} eggs this week.", "The hens lay {e} eggs."),
            Phrase("{name} has {a} cartons holding {b} eggs each.", "{name} has {e} eggs."),
        ],
        gains: [
            Phrase("The ducks lay another {n} eggs.", "With the duck eggs there are {e} eggs."),
            Phrase("{he} collects {n} more eggs the next morning.", "Now {he} has {e} eggs."),
        ],
        losses: [
            Phrase("{he} sells {n} eggs to a neighbour.", "After the sale {he} has {e} eggs."),
            Phrase("{n} eggs break on the way to the kitchen.", "Without the broken ones there are {e} eggs."),
            Phrase("{he} uses {n} eggs to bake cakes.", "After baking {he} has {e} eggs."),
        ],
        multiplies: [], keepShare: [],
        gainGroups: [
            (
                Phrase("{friend} gives {him} {a} cartons with {b} eggs each.", "The cartons hold {e} eggs."),
                Phrase("", "Now {name} has {e} eggs.")
            )
        ],
        lossFraction: [
            (
                Phrase("{he} sells {fraction} of the eggs at the market.", "{he} sells {e} eggs."),
                Phrase("", "{he} has {e} eggs left.")
            )
        ],
        questions: ["How many eggs does {name} have now?", "How many eggs are left?"],
        finalShares: [
            Phrase(
                "{he} packs them equally into {k} cartons. How many eggs are in each carton?",
                "Each carton holds {e} eggs.")
        ])

    /// A small shop's stock.
    static let shop = TallyDomain(
        name: "shop", units: ["bottles of water", "notebooks", "candles", "jars of honey", "umbrellas", "toy cars"],
        groups: [("crate", "crates"), ("carton", "cartons"), ("shelf", "shelves")],
        start: ["{name}'s shop has {n} {unit} in stock.", "{name} runs a shop that starts the day with {n} {unit}."],
        startGroups: [
            Phrase("{name}'s shop receives {a} {groups} with {b} {unit} in each.", "The shop receives {e} {unit}."),
            Phrase("{name} stocks {a} {groups} with {b} {unit} each.", "{name} stocks {e} {unit}."),
        ],
        gains: [
            Phrase("A delivery brings {n} more {unit}.", "After the delivery the shop has {e} {unit}."),
            Phrase("A customer returns {n} {unit}.", "With the returns there are {e} {unit}."),
        ],
        losses: [
            Phrase("{he} sells {n} {unit} in the morning.", "After the morning sales {e} {unit} are left."),
            Phrase("{n} {unit} are found damaged and removed.", "Without them the shop has {e} {unit}."),
        ],
        multiplies: [
            Phrase(
                "Before the holidays {he} orders enough to have {times} as many {unit}.",
                "The shop then has {e} {unit}.")
        ],
        keepShare: [
            Phrase(
                "{he} divides the {unit} equally between {k} branches and keeps one branch's share in this shop.",
                "This shop keeps {e} {unit}.")
        ],
        gainGroups: [
            (
                Phrase("A truck delivers {a} more {groups} of {b} {unit}.", "The truck brings {e} {unit}."),
                Phrase("", "The shop now has {e} {unit}.")
            )
        ],
        lossFraction: [
            (
                Phrase("During a sale, {fraction} of the {unit} are sold.", "The sale moves {e} {unit}."),
                Phrase("", "The shop has {e} {unit} left.")
            )
        ],
        questions: ["How many {unit} does the shop have now?", "How many {unit} are left in stock?"],
        finalShares: [
            Phrase(
                "{he} arranges them equally on {k} shelves. How many {unit} are on each shelf?",
                "Each shelf holds {e} {unit}.")
        ])

    /// Pocket money.
    static let savings = TallyDomain(
        name: "savings", units: ["dollars"], groups: [],
        start: ["{name} has ${n} in {his} piggy bank.", "{name} has saved ${n}."],
        startGroups: [
            Phrase("{name} saves ${b} a week for {a} weeks.", "{name} saves {e} dollars."),
            Phrase("{name} earns ${b} an hour and works {a} hours.", "{name} earns {e} dollars."),
        ],
        gains: [
            Phrase("{his} grandmother gives {him} ${n}.", "With the gift {he} has {e} dollars."),
            Phrase("{he} earns ${n} walking dogs.", "Now {he} has {e} dollars."),
            Phrase("{he} sells an old bike for ${n}.", "After the sale {name} has {e} dollars."),
        ],
        losses: [
            Phrase("{he} spends ${n} on a book.", "After buying the book {he} has {e} dollars."),
            Phrase("{he} pays ${n} for a concert ticket.", "That leaves {e} dollars."),
            Phrase("{he} lends ${n} to {friend}.", "After the loan {name} has {e} dollars."),
        ],
        multiplies: [
            Phrase(
                "{his} parents reward {him} so that {he} has {times} as much money as before.",
                "{name} now has {e} dollars.")
        ],
        keepShare: [
            Phrase(
                "{he} shares {his} money equally with {others} siblings, keeping one share.",
                "Split {k} ways, {name} keeps {e} dollars.")
        ],
        gainGroups: [],
        lossFraction: [
            (
                Phrase("{he} spends {fraction} of {his} money on a gift.", "The gift costs {e} dollars."),
                Phrase("", "{name} has {e} dollars left.")
            )
        ],
        questions: ["How many dollars does {name} have now?", "How much money, in dollars, does {name} have left?"],
        finalShares: [
            Phrase(
                "{he} splits the money equally among {k} charities. How many dollars does each charity get?",
                "Each charity gets {e} dollars.")
        ])

    /// Reading a book.
    static let reading = TallyDomain(
        name: "reading", units: ["pages"], groups: [],
        start: ["{name} has read {n} pages of a novel.", "On Monday {name} reads {n} pages."],
        startGroups: [
            Phrase("{name} reads {b} pages a day for {a} days.", "{name} reads {e} pages."),
            Phrase("{name} reads {a} chapters of {b} pages each.", "That is {e} pages."),
        ],
        gains: [
            Phrase("On Sunday {he} reads {n} more pages.", "Now {he} has read {e} pages."),
            Phrase("On the train {he} reads another {n} pages.", "That brings the total to {e} pages."),
        ],
        losses: [],
        multiplies: [
            Phrase(
                "Over the holiday {he} ends up reading {times} as many pages as before.", "The total becomes {e} pages."
            )
        ],
        keepShare: [], gainGroups: [], lossFraction: [],
        questions: ["How many pages has {name} read in total?", "How many pages has {name} read so far?"],
        finalShares: [
            Phrase(
                "{he} writes one summary for every {k} pages read. How many summaries does {he} write?",
                "{name} writes {e} summaries.")
        ])

    /// Planting a garden.
    static let garden = TallyDomain(
        name: "garden", units: ["tulips", "tomato plants", "sunflowers", "rose bushes", "pepper plants"],
        groups: [("row", "rows"), ("bed", "beds")],
        start: [
            "{name} has {n} {unit} in {his} garden.", "There are {n} {unit} in {name}'s plot at the community garden.",
        ],
        startGroups: [
            Phrase("{name} plants {a} rows of {unit} with {b} in each row.", "{name} plants {e} {unit}."),
            Phrase("{name} has {a} beds with {b} {unit} in each bed.", "The beds hold {e} {unit}."),
        ],
        gains: [
            Phrase("{he} plants {n} more {unit} along the fence.", "Now there are {e} {unit}."),
            Phrase("{friend} gives {him} {n} {unit} to plant.", "With {friend}'s gift there are {e} {unit}."),
        ],
        losses: [
            Phrase("Rabbits eat {n} of the {unit}.", "After the rabbits, {e} {unit} are left."),
            Phrase("{n} of the {unit} wilt in the heat.", "Without the wilted ones there are {e} {unit}."),
        ],
        multiplies: [], keepShare: [],
        gainGroups: [
            (
                Phrase("{he} adds {a} more {groups} with {b} {unit} each.", "The new {groups} hold {e} {unit}."),
                Phrase("", "The garden now has {e} {unit}.")
            )
        ],
        lossFraction: [
            (
                Phrase("A storm destroys {fraction} of the {unit}.", "The storm destroys {e} {unit}."),
                Phrase("", "{e} {unit} survive.")
            )
        ],
        questions: ["How many {unit} are in the garden now?", "How many {unit} does {name} have now?"],
        finalShares: [
            Phrase(
                "{he} gives them away equally to {k} neighbours. How many {unit} does each neighbour get?",
                "Each neighbour gets {e} {unit}.")
        ])

    /// Balloons and favours for a party.
    static let party = TallyDomain(
        name: "party", units: ["balloons", "party hats", "paper cups", "candies"],
        groups: [("pack", "packs"), ("bag", "bags")],
        start: ["{name} has {n} {unit} for a party.", "For {friend}'s birthday, {name} gets {n} {unit}."],
        startGroups: [
            Phrase("{name} buys {a} {groups} of {unit} with {b} in each {group}.", "{name} buys {e} {unit}.")
        ],
        gains: [
            Phrase("{friend} brings {n} more {unit}.", "With {friend}'s {unit} there are {e}."),
            Phrase("{he} finds {n} {unit} left over from last year.", "Now {he} has {e} {unit}."),
        ],
        losses: [
            Phrase("{n} of the {unit} are ruined before the party.", "That leaves {e} {unit}."),
            Phrase("{he} gives {n} {unit} to the neighbours' children.", "After that {he} has {e} {unit}."),
        ],
        multiplies: [
            Phrase("{he} buys enough to have {times} as many {unit} as before.", "{name} now has {e} {unit}.")
        ],
        keepShare: objectKeepShares, gainGroups: objectGainGroups,
        lossFraction: objectLossFractions,
        questions: ["How many {unit} are there for the party now?"] + objectQuestions,
        finalShares: [
            Phrase(
                "{he} sets them out equally on {k} tables. How many {unit} are on each table?",
                "Each table gets {e} {unit}.")
        ])

    /// Points in a game.
    static let game = TallyDomain(
        name: "game", units: ["points"], groups: [],
        start: [
            "{name} scores {n} points in the first round of a quiz.", "{name} starts a board game with {n} points.",
        ],
        startGroups: [
            Phrase("{name} wins {a} rounds of a game, worth {b} points each.", "That gives {e} points."),
            Phrase("{name} answers {a} questions right, and each is worth {b} points.", "{name} earns {e} points."),
        ],
        gains: [
            Phrase("{he} scores {n} points in the next round.", "{his} score becomes {e} points."),
            Phrase("A bonus question adds {n} points.", "With the bonus {he} has {e} points."),
        ],
        losses: [
            Phrase("{he} loses {n} points for a wrong answer.", "After the penalty {he} has {e} points."),
            Phrase("A penalty takes away {n} points.", "{his} score drops to {e} points."),
        ],
        multiplies: [Phrase("A lucky card makes {his} score {times} as big.", "{his} score becomes {e} points.")],
        keepShare: [
            Phrase(
                "The rules divide every score by {k} before the final round.", "{his} score becomes {e} points.")
        ],
        gainGroups: [],
        lossFraction: [
            (
                Phrase("{he} gambles and loses {fraction} of {his} points.", "{he} loses {e} points."),
                Phrase("", "{his} score is now {e} points.")
            )
        ],
        questions: ["How many points does {name} have now?", "What is {name}'s final score?"],
        finalShares: [
            Phrase(
                "{he} trades {his} points for stickers at {k} points per sticker. How many stickers does {he} get?",
                "{name} gets {e} stickers.")
        ])
}
