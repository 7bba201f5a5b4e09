import QuorumCore
/// Templates with a fixed shape of reasoning (ages, recipes, trips, rates, bills…); each grows from
/// one step to its most by adding the next link of its chain.
enum StructuredTemplates {
    /// All structured templates.
    static let all: [Template] = [
        shopping, ages, recipe, trip, factory, billSplit, savingsGoal, field, school, tank,
    ]

    /// A note-sized bill at least `amount + 2` and at most `limit`, if there is one.
    private static func bill(covering amount: Int, limit: Int) -> Int? {
        [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].first { $0 >= amount + 2 && $0 <= limit }
    }

    /// Buying things and getting change: 1–4 steps.
    static let shopping = Template(name: "shopping", steps: 1...4) { steps, c in
        let person = c.rng.person()
        let items = [
            "notebooks", "pens", "mugs", "kites", "puzzles", "scarves", "comic books", "plant pots", "socks",
            "sandwiches", "candles", "soaps",
        ]
        let first = c.rng.pick(items)
        var second = c.rng.pick(items)
        while second == first { second = c.rng.pick(items) }
        let (a, p) = (c.small(), c.number(2, 15))
        let (b, q) = (c.small(), c.number(2, 15))
        let shop = c.rng.pick(["a market", "a corner shop", "a school fair", "a bookstore", "a craft store"])
        c.story.say("\(person.name) goes to \(shop) and buys \(a) \(first) for $\(p) each.")
        if steps >= 3 { c.story.say("\(person.he) also buys \(b) \(second) for $\(q) each.") }
        var cost = c.story.step(a, .multiply, p) { "The \(first) cost \($0) dollars." }
        if steps >= 3 {
            let more = c.story.step(b, .multiply, q) { "The \(second) cost \($0) dollars." }
            cost = c.story.step(cost, .add, more) { "Altogether \(person.he) spends \($0) dollars." }
        }
        if steps == 2 || steps == 4 {
            guard let note = bill(covering: cost, limit: c.story.maxResult) else { return c.story.fail() }
            c.story.say("\(person.he) pays with a $\(note) bill. How much change, in dollars, does \(person.he) get?")
            c.story.step(note, .subtract, cost) { "The change is \($0) dollars." }
        } else {
            c.story.say("How many dollars does \(person.name) spend?")
        }
    }

    /// A chain of people whose ages relate to the one before: 1–4 steps.
    static let ages = Template(name: "ages", steps: 1...4) { steps, c in
        var people = [c.rng.person()]
        for _ in 0..<steps { people.append(c.rng.person(besides: people.last!)) }
        // Names must be distinct along the chain for the story to read right.
        guard Set(people.map(\.name)).count == people.count else { return c.story.fail() }
        var age = c.number(4, 30)
        c.story.say("\(people[0].name) is \(age) years old.")
        for index in 1...steps {
            let (person, previous) = (people[index].name, people[index - 1].name)
            var choices = ["older", "younger"]
            if age * 2 <= 90 { choices.append("times") }
            if age % 2 == 0 && age >= 8 { choices.append("half") }
            switch c.rng.pick(choices) {
            case "older":
                let d = c.number(2, min(25, 95 - age))
                c.story.say("\(person) is \(d) years older than \(previous).")
                age = c.story.step(age, .add, d) { "\(person) is \($0) years old." }
            case "younger":
                guard age > 4 else { return c.story.fail() }
                let d = c.number(2, min(20, age - 2))
                c.story.say("\(person) is \(d) years younger than \(previous).")
                age = c.story.step(age, .subtract, d) { "\(person) is \($0) years old." }
            case "times":
                let k = c.rng.int(in: 2...max(2, min(4, 90 / age)))
                c.story.say("\(person) is \(NumberWords.times(k)) as old as \(previous).")
                age = c.story.step(age, .multiply, k) { "\(person) is \($0) years old." }
            default:
                c.story.say("\(person) is half as old as \(previous).")
                age = c.story.step(age, .divide, 2) { "\(person) is \($0) years old." }
            }
        }
        c.story.say("How old is \(people[steps].name)?")
    }

    /// Scaling a recipe: 2–4 steps.
    static let recipe = Template(name: "recipe", steps: 2...4) { steps, c in
        let person = c.rng.person()
        let (dish, ingredient, oneIngredient) = c.rng.pick([
            ("muffins", "cups of flour", "cup of flour"), ("pancakes", "eggs", "egg"),
            ("cookies", "spoons of sugar", "spoon of sugar"), ("bread rolls", "cups of milk", "cup of milk"),
            ("dumplings", "ounces of cabbage", "ounce of cabbage"), ("tarts", "apples", "apple"),
        ])
        let per = c.number(2, 12)
        let amount = c.number(2, 9)
        let batches = c.number(2, 8)
        c.story.say("A recipe uses \(amount) \(ingredient) to make \(per) \(dish).")
        c.story.say("\(person.name) wants to make \(per * batches) \(dish).")
        let made = c.story.step(per * batches, .divide, per) { "\(person.name) needs \($0) batches." }
        let needed = c.story.step(made, .multiply, amount) { "That takes \($0) \(ingredient)." }
        guard steps >= 3 else { return c.story.say("How many \(ingredient) does \(person.he) need?") }
        guard needed > 3 else { return c.story.fail() }
        let has = c.number(1, needed - 2)
        c.story.say("\(person.he) already has \(has) \(ingredient).")
        let missing = c.story.step(needed, .subtract, has) { "\(person.he) must buy \($0) more \(ingredient)." }
        guard steps == 4 else { return c.story.say("How many more \(ingredient) must \(person.he) buy?") }
        let price = c.number(2, 6)
        c.story.say("Each \(oneIngredient) costs $\(price). How many dollars does \(person.he) spend on them?")
        c.story.step(missing, .multiply, price) { "\(person.he) spends \($0) dollars." }
    }

    /// Distance from speed and time: 1–4 steps.
    static let trip = Template(name: "trip", steps: 1...4) { steps, c in
        let person = c.rng.person()
        let (vehicle, speeds) = c.rng.pick([
            ("drives", 30...90), ("cycles", 10...25), ("takes a train that goes", 40...120), ("walks", 3...6),
            ("rides a scooter at", 10...30),
        ])
        let unit = c.rng.pick(["km", "miles"])
        let speed = c.rng.int(in: speeds)
        let hours = c.number(2, 6)
        c.story.say("\(person.name) \(vehicle) \(speed) \(unit) per hour for \(hours) hours.")
        var distance = c.story.step(speed, .multiply, hours) { "First \(person.he) covers \($0) \(unit)." }
        if steps == 2 {
            let extra = c.number(2, 40)
            c.story.say("Then \(person.he) goes another \(extra) \(unit).")
            distance = c.story.step(distance, .add, extra) { "In all \(person.he) travels \($0) \(unit)." }
        }
        if steps >= 3 {
            let (speed2, hours2) = (c.rng.int(in: speeds), c.number(2, 5))
            c.story.say("After a break, \(person.he) goes \(speed2) \(unit) per hour for \(hours2) more hours.")
            let second = c.story.step(speed2, .multiply, hours2) { "The second part is \($0) \(unit)." }
            distance = c.story.step(distance, .add, second) { "In all \(person.he) travels \($0) \(unit)." }
        }
        if steps == 4 {
            let total = distance + c.number(5, 60)
            c.story.say("The whole journey is \(total) \(unit). How many \(unit) are left to go?")
            c.story.step(total, .subtract, distance) { "\(person.name) still has \($0) \(unit) to go." }
        } else {
            c.story.say("How many \(unit) does \(person.name) travel?")
        }
    }

    /// Production at a rate, then packing and selling: 1–4 steps.
    static let factory = Template(name: "factory", steps: 1...4) { steps, c in
        let (maker, item) = c.rng.pick([
            ("A machine", "toys"), ("An oven", "loaves"), ("A printer", "posters"), ("A kiln", "bowls"),
            ("A robot", "bolts"), ("A loom", "scarves"), ("A 3D printer", "figurines"),
        ])
        let rate = c.number(2, 20)
        let hours = c.number(2, 8)
        let days = c.number(2, 6)
        c.story.say("\(maker) makes \(rate) \(item) per hour and works \(hours) hours a day.")
        let daily = c.story.step(rate, .multiply, hours) { "Each day it makes \($0) \(item)." }
        guard steps >= 2 else { return c.story.say("How many \(item) are made in one day?") }
        c.story.say("It works like this for \(days) days.")
        let made = c.story.step(daily, .multiply, days) { "Over \(days) days that is \($0) \(item)." }
        guard steps >= 3 else { return c.story.say("How many \(item) are made in total?") }
        guard let box = c.divisor(of: made, largest: 12) else { return c.story.fail() }
        c.story.say("The \(item) are packed in boxes of \(box).")
        let boxes = c.story.step(made, .divide, box) { "They fill \($0) boxes." }
        guard steps == 4 else { return c.story.say("How many boxes are filled?") }
        let price = c.number(2, 9)
        c.story.say("Each box sells for $\(price). How many dollars do all the boxes bring in?")
        c.story.step(boxes, .multiply, price) { "The boxes bring in \($0) dollars." }
    }

    /// Friends sharing a bill: 2–4 steps.
    static let billSplit = Template(name: "billSplit", steps: 2...4) { steps, c in
        let person = c.rng.person()
        let friends = c.number(2, 6)
        let (food, drinks) = c.rng.pick([
            ("pizza", "drinks"), ("tacos", "lemonade"), ("curry", "tea"), ("sushi", "juice"),
        ])
        let eaters = friends + 1
        let foodCost = c.number(10, 80)
        let tip = steps >= 3 ? c.number(2, 15) : 0
        // Choose the drinks so the final total divides evenly among the eaters.
        guard let total = c.multiple(of: eaters, foodCost + tip + 2, foodCost + tip + 40) else { return c.story.fail() }
        let drinkCost = total - foodCost - tip
        c.story.say(
            "\(person.name) and \(friends) friends order \(food) for $\(foodCost) and \(drinks) for $\(drinkCost).")
        var owed = c.story.step(foodCost, .add, drinkCost) { "The meal costs \($0) dollars." }
        if steps >= 3 {
            c.story.say("They add a $\(tip) tip.")
            owed = c.story.step(owed, .add, tip) { "With the tip the bill is \($0) dollars." }
        }
        c.story.say("They split the bill equally.")
        let share = c.story.step(owed, .divide, eaters) { "Shared by \(eaters) people, each pays \($0) dollars." }
        guard steps == 4 else { return c.story.say("How many dollars does each person pay?") }
        guard let note = bill(covering: share, limit: c.story.maxResult) else { return c.story.fail() }
        c.story.say(
            "\(person.name) pays \(person.his) share with a $\(note) bill. How much change does \(person.he) get, in dollars?"
        )
        c.story.step(note, .subtract, share) { "\(person.name) gets \($0) dollars back." }
    }

    /// Saving up for something: 1–4 steps.
    static let savingsGoal = Template(name: "savingsGoal", steps: 1...4) { steps, c in
        let person = c.rng.person()
        let thing = c.rng.pick(["a bike", "a guitar", "a tablet", "a tent", "a telescope", "skates", "a camera"])
        let weekly = c.number(2, 15)
        let weeks = c.number(2, 12)
        let saved = c.number(2, 60)
        let goal = saved + weekly * weeks
        var price = goal
        var shipping = 0
        if steps == 4 {
            shipping = c.number(2, min(20, goal - 2))
            price = goal - shipping
        }
        c.story.say("\(person.name) wants \(thing) that costs $\(price).")
        if steps == 4 { c.story.say("Shipping costs another $\(shipping).") }
        c.story.say("\(person.he) has saved $\(saved).")
        var cost = price
        if steps == 4 { cost = c.story.step(price, .add, shipping) { "With shipping the cost is \($0) dollars." } }
        if steps >= 2 { c.story.say("\(person.he) saves $\(weekly) each week.") }
        if steps >= 3 { c.story.say("\(person.his) aunt then gives \(person.him) $\(weekly).") }
        var missing = c.story.step(cost, .subtract, saved) { "\(person.he) still needs \($0) dollars." }
        if steps >= 3 {
            missing = c.story.step(missing, .subtract, weekly) {
                "After the aunt's gift \(person.he) needs \($0) dollars."
            }
        }
        guard steps >= 2 else { return c.story.say("How many more dollars does \(person.he) need?") }
        c.story.say("How many weeks must \(person.he) save?")
        c.story.step(missing, .divide, weekly) { "Saving \(weekly) a week takes \($0) weeks." }
    }

    /// A rectangular field: area, perimeter, fencing: 1–4 steps.
    static let field = Template(name: "field", steps: 1...4) { steps, c in
        let person = c.rng.person()
        let place = c.rng.pick(["garden", "yard", "playground", "field", "vegetable patch"])
        let length = c.number(3, 30)
        let width = c.number(2, min(20, length))
        c.story.say("\(person.name)'s \(place) is a rectangle \(length) meters long and \(width) meters wide.")
        if steps == 1 {
            c.story.say("What is its area in square meters?")
            c.story.step(length, .multiply, width) { "The area is \($0) square meters." }
            return
        }
        let half = c.story.step(length, .add, width) { "Length plus width is \($0) meters." }
        let perimeter = c.story.step(half, .multiply, 2) { "The perimeter is \($0) meters." }
        guard steps >= 3 else { return c.story.say("How many meters of fence go all the way around it?") }
        let price = c.number(2, 9)
        c.story.say("Fencing costs $\(price) per meter.")
        let cost = c.story.step(perimeter, .multiply, price) { "The fence costs \($0) dollars." }
        guard steps == 4 else { return c.story.say("How many dollars does the fence around the \(place) cost?") }
        let gate = c.number(5, 60)
        c.story.say("A gate costs another $\(gate). How many dollars do the fence and gate cost together?")
        c.story.step(cost, .add, gate) { "Fence and gate cost \($0) dollars." }
    }

    /// Students, absences, teams and equipment: 1–4 steps.
    static let school = Template(name: "school", steps: 1...4) { steps, c in
        let classes = c.number(2, 8)
        let size = c.number(10, 30)
        let event = c.rng.pick(["sports day", "science fair", "field trip", "quiz night"])
        c.story.say("A school has \(classes) classes with \(size) students in each class.")
        let students = c.story.step(classes, .multiply, size) { "There are \($0) students." }
        guard steps >= 2 else { return c.story.say("How many students are in the school?") }
        let absent = c.number(2, min(30, students / 3))
        c.story.say("On the day of the \(event), \(absent) students are absent.")
        let present = c.story.step(students, .subtract, absent) { "So \($0) students are present." }
        guard steps >= 3 else { return c.story.say("How many students come to the \(event)?") }
        guard let team = c.divisor(of: present, largest: 10) else { return c.story.fail() }
        c.story.say("The students present form teams of \(team).")
        let teams = c.story.step(present, .divide, team) { "They make \($0) teams." }
        guard steps == 4 else { return c.story.say("How many teams are there?") }
        let per = c.number(2, 5)
        c.story.say("Each team needs \(per) water bottles. How many water bottles are needed?")
        c.story.step(teams, .multiply, per) { "They need \($0) water bottles." }
    }

    /// Filling a tank at a rate: 1–4 steps.
    static let tank = Template(name: "tank", steps: 1...4) { steps, c in
        let (container, liquid) = c.rng.pick([
            ("tank", "water"), ("pool", "water"), ("barrel", "rainwater"), ("vat", "juice"), ("tub", "water"),
        ])
        let rate = c.number(2, 12)
        let minutes = c.number(2, 30)
        let already = steps >= 2 ? c.number(2, 40) : 0
        let capacity = rate * minutes + already
        if steps == 4 {
            guard let barrels = c.divisor(of: capacity, largest: 9) else { return c.story.fail() }
            let each = capacity / barrels
            c.story.say("A \(container) is made of \(barrels) sections that hold \(each) liters of \(liquid) each.")
            c.story.step(barrels, .multiply, each) { "The \(container) holds \($0) liters." }
        } else {
            c.story.say("A \(container) holds \(capacity) liters of \(liquid).")
        }
        if steps >= 2 { c.story.say("It already has \(already) liters in it.") }
        c.story.say("A pump adds \(rate) liters every minute.")
        var remaining = capacity
        if steps >= 2 {
            remaining = c.story.step(capacity, .subtract, already) { "It needs \($0) more liters." }
        }
        let time = c.story.step(remaining, .divide, rate) { "Filling takes \($0) minutes." }
        if steps >= 3 {
            let cost = c.number(2, 5)
            c.story.say(
                "Running the pump costs $\(cost) per minute. How many dollars does it cost to fill the \(container)?")
            c.story.step(time, .multiply, cost) { "It costs \($0) dollars." }
        } else {
            c.story.say("How many minutes does it take to fill the \(container)?")
        }
    }
}
