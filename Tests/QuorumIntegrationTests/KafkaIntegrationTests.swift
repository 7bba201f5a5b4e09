import Foundation
import QuorumKafka
import Testing

@Suite("Kafka client against the real broker", .serialized)
struct KafkaIntegrationTests {
    /// Produces `count` keyed messages; returns the delivery reports.
    func produce(_ count: Int, topic: String, windowed: Bool = true) async throws -> [KafkaDeliveryReport] {
        let producer = try KafkaProducer(configuration: TestStack.kafka)
        let reports = Collector<KafkaDeliveryReport>()
        if windowed {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    if index >= 1000 { try await group.next() }
                    group.addTask {
                        reports.append(
                            try await producer.send(
                                topic: topic, key: Array("problem-\(index % 500)".utf8), value: Array("\(index)".utf8)))
                    }
                }
                try await group.waitForAll()
            }
        } else {
            // One at a time: each message is its own record batch.
            for index in 0..<count {
                reports.append(
                    try await producer.send(topic: topic, key: Array("k\(index)".utf8), value: [UInt8(index % 256)]))
            }
        }
        await producer.close()
        return reports.values
    }

    @Test func tenThousandKeyedMessagesThroughAGroupOfTwo() async throws {
        let topic = TestStack.unique("quorum.test.group")
        let admin = try KafkaAdmin(configuration: TestStack.kafka)
        try await admin.createTopic(topic, partitions: 4)
        #expect(try await admin.listTopics().contains { $0.name == topic && $0.partitionCount == 4 })
        let reports = try await produce(10_000, topic: topic)
        #expect(reports.count == 10_000)

        let group = TestStack.unique("quorum.test.group")
        let seen = Collector<String>()
        let assigned = Collector<KafkaTopicPartition>()
        let consumers = try (0..<2).map { _ in
            try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(kafka: TestStack.kafka, groupID: group), topics: [topic],
                events: KafkaConsumerEvents(onAssign: { partitions in partitions.forEach(assigned.append) }))
        }
        // Both consume concurrently, committing as they go, until every message was seen.
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for consumer in consumers {
                tasks.addTask {
                    let deadline = ContinuousClock.now + .seconds(90)
                    while Set(seen.values).count < 10_000, ContinuousClock.now < deadline {
                        if let message = try await consumer.poll(timeoutMilliseconds: 200) {
                            seen.append("\(message.partition)/\(message.offset)")
                            // Rebalanced away (a starved machine)? The new owner gets it again.
                            try await consumer.commitUnlessRebalanced([message.nextPosition])
                        }
                    }
                }
            }
            try await tasks.waitForAll()
        }
        #expect(Set(seen.values).count == 10_000)
        #expect(Set(assigned.values.map(\.partition)) == [0, 1, 2, 3])

        // What the group committed is exactly past the last message of each partition.
        let lastOffsets = Dictionary(grouping: reports, by: \.partition).mapValues { $0.map(\.offset).max()! + 1 }
        let committed = try await admin.committedOffsets(
            group: group, partitions: (0..<4).map { KafkaTopicPartition(topic: topic, partition: $0) })
        for (partition, next) in lastOffsets {
            #expect(committed[KafkaTopicPartition(topic: topic, partition: partition)] == next)
        }
        for consumer in consumers { await consumer.close() }
        try await admin.deleteTopic(topic)
    }

    @Test func whenOneMemberLeavesTheOtherTakesOverItsPartitions() async throws {
        let topic = TestStack.unique("quorum.test.takeover")
        let admin = try KafkaAdmin(configuration: TestStack.kafka)
        try await admin.createTopic(topic, partitions: 4)
        let reports = try await produce(2_000, topic: topic)
        let group = TestStack.unique("quorum.test.takeover")
        let configuration = KafkaConsumerConfiguration(kafka: TestStack.kafka, groupID: group)

        let survivorPartitions = Collector<[KafkaTopicPartition]>()
        let survivor = try KafkaConsumer(
            configuration: configuration, topics: [topic],
            events: KafkaConsumerEvents(onAssign: { survivorPartitions.append($0) }))
        let leaver = try KafkaConsumer(configuration: configuration, topics: [topic])
        let processed = Collector<String>()

        // The leaver processes (and commits) a few hundred messages, then closes mid-way.
        let leaverTask = Task {
            var handled = 0
            let deadline = ContinuousClock.now + .seconds(60)
            while handled < 300, ContinuousClock.now < deadline {
                if let message = try await leaver.poll(timeoutMilliseconds: 200) {
                    processed.append("\(message.partition)/\(message.offset)")
                    try await leaver.commit(message)
                    handled += 1
                }
            }
            await leaver.close()
            return handled
        }
        let survivorTask = Task {
            let deadline = ContinuousClock.now + .seconds(90)
            while Set(processed.values).count < reports.count, ContinuousClock.now < deadline {
                if let message = try await survivor.poll(timeoutMilliseconds: 200) {
                    processed.append("\(message.partition)/\(message.offset)")
                    try await survivor.commit(message)
                }
            }
        }
        let leaverHandled = try await leaverTask.value
        try await survivorTask.value
        #expect(leaverHandled == 300)
        // Nothing is lost: every message was processed by one member or the other (at least once).
        #expect(Set(processed.values).count == reports.count)
        // After the leaver left, the survivor held all four partitions.
        let everHeld = Set(survivorPartitions.values.flatMap { $0 }.map(\.partition))
        #expect(everHeld == [0, 1, 2, 3])
        #expect(Set(try await survivor.assignment().map(\.partition)) == [0, 1, 2, 3])
        await survivor.close()
        try await admin.deleteTopic(topic)
    }

    /// Tansu 0.6 keeps a member that *left* while the group was rebalancing as the group's leader, and
    /// then never forms the group again. Members that stop without leaving (Quorum's workers and sink)
    /// are expired after the session timeout instead, and the group carries on.
    @Test func membersThatStopWhileTheGroupRebalancesDoNotWedgeIt() async throws {
        let topic = TestStack.unique("quorum.test.wedge")
        let admin = try KafkaAdmin(configuration: TestStack.kafka)
        try await admin.createTopic(topic, partitions: 2)
        let reports = try await produce(2_000, topic: topic)
        var configuration = KafkaConsumerConfiguration(
            kafka: TestStack.kafka, groupID: TestStack.unique("quorum.test.wedge"))
        configuration.leavesGroupOnClose = false
        let processed = Collector<String>()
        let deadline = ContinuousClock.now + .seconds(120)
        // A member that records what it is assigned and handles about 50 messages a second.
        func member() throws -> (consumer: KafkaConsumer, held: Collector<[KafkaTopicPartition]>) {
            let held = Collector<[KafkaTopicPartition]>()
            let consumer = try KafkaConsumer(
                configuration: configuration, topics: [topic],
                events: KafkaConsumerEvents(onAssign: { held.append($0) }))
            return (consumer, held)
        }
        func consume(_ consumer: KafkaConsumer) -> Task<Void, any Error> {
            Task {
                while !Task.isCancelled, ContinuousClock.now < deadline, Set(processed.values).count < reports.count {
                    if let message = try await consumer.poll(timeoutMilliseconds: 100) {
                        processed.append("\(message.partition)/\(message.offset)")
                        try await consumer.commit(message)
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                }
            }
        }
        let first = [try member(), try member()]
        let firstTasks = first.map { consume($0.consumer) }
        let formed = try await waitFor(seconds: 30) { first.allSatisfy { !$0.held.values.isEmpty } }
        try #require(formed, "the first two members never got their partitions")

        // A third member joins, so the group rebalances; the first two stop right then, mid-rebalance.
        let joiner = try member()
        let joinerTask = consume(joiner.consumer)
        try await Task.sleep(for: .seconds(1))
        for task in firstTasks { task.cancel() }
        for (index, task) in firstTasks.enumerated() {
            _ = await task.result
            await first[index].consumer.close()
        }
        #expect(Set(processed.values).count < reports.count, "the first members finished before they were stopped")
        let late = try member()
        let lateTask = consume(late.consumer)
        try await joinerTask.value
        try await lateTask.value

        // The two new members took over both partitions and nothing was lost.
        #expect(Set(processed.values).count == reports.count)
        let takenOver = Set((joiner.held.values + late.held.values).flatMap { $0 }.map(\.partition))
        #expect(takenOver == [0, 1])
        await joiner.consumer.close()
        await late.consumer.close()
        try await admin.deleteTopic(topic)
    }

    @Test func lagFollowsCommits() async throws {
        let topic = TestStack.unique("quorum.test.lag")
        let admin = try KafkaAdmin(configuration: TestStack.kafka)
        try await admin.createTopic(topic, partitions: 1)
        // One message per record batch, so the broker's high watermark is exact (see DESIGN.md on Tansu).
        let reports = try await produce(20, topic: topic, windowed: false)
        #expect(reports.map(\.offset) == Array(0..<20))

        let group = TestStack.unique("quorum.test.lag")
        let before = try await admin.lag(group: group, topic: topic)
        #expect(before.count == 1)
        #expect(before[0].committedOffset == nil)
        #expect(before[0].lag == 20)

        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(kafka: TestStack.kafka, groupID: group), topics: [topic])
        var consumed = 0
        for try await message in consumer.messages {
            consumed += 1
            if consumed == 8 {
                try await consumer.commit(message)
                break
            }
        }
        let middle = try await admin.lag(group: group, topic: topic)
        #expect(middle[0].committedOffset == 8)
        #expect(middle[0].lag == 12)

        try await consumer.commit([KafkaTopicPartitionOffset(topic: topic, partition: 0, offset: 20)])
        let after = try await admin.lag(group: group, topic: topic)
        #expect(after[0].lag == 0)
        await consumer.close()
        try await admin.deleteTopic(topic)
    }
}
