import QuorumKafka
import Testing

@Suite("librdkafka version check")
struct LibrdkafkaVersionTests {
    @Test(
        "rejects the libraries that cannot talk to current brokers", arguments: [0x0200_02ff, 0x0201_00ff, 0x0109_02ff])
    func rejectsOld(version: Int32) {
        #expect(throws: KafkaError.self) { try Librdkafka.check(version: version) }
        do {
            try Librdkafka.check(version: version)
        } catch {
            #expect(error.code == .unsupportedLibrary)
            #expect(error.message.contains(Librdkafka.versionString(hex: version)))
            #expect(error.message.contains("ops/setup.sh"))
        }
    }

    @Test("accepts 2.2.0 and newer", arguments: [0x0202_00ff, 0x0210_00ff, 0x0300_0000])
    func acceptsNew(version: Int32) throws {
        try Librdkafka.check(version: version)
    }

    @Test func theLoadedLibraryIsCurrent() throws {
        try Librdkafka.check()
        #expect(
            Librdkafka.versionString(hex: Librdkafka.runtimeVersion)
                == Librdkafka.runtimeVersionString.prefix(while: { $0 != "-" }).description)
    }
}

@Suite("Kafka errors")
struct KafkaErrorTests {
    @Test("a commit refused after a rebalance is recognised as lost, other failures are not")
    func lostCommits() {
        let lost: [KafkaError.Code] = [.unknownMemberID, .illegalGeneration, .rebalanceInProgress, .assignmentLost]
        let names = ["UNKNOWN_MEMBER_ID", "ILLEGAL_GENERATION", "REBALANCE_IN_PROGRESS", "_ASSIGNMENT_LOST"]
        #expect(lost.map(\.description) == names)
        for code in lost { #expect(KafkaError(code: code, message: "commit").isLostCommit) }
        for code in [KafkaError.Code.timedOut, .fatal, .allBrokersDown, .unknownTopicOrPartition, .closed] {
            #expect(!KafkaError(code: code, message: "commit").isLostCommit, "\(code)")
        }
    }
}

@Suite("Kafka client against librdkafka's mock cluster")
struct KafkaMockClusterTests {
    @Test func aRejectedPropertyNamesItself() {
        do {
            _ = try KafkaProducer(
                configuration: KafkaConfiguration(
                    bootstrapServers: "127.0.0.1:1", properties: ["no.such.property": "1"]))
            Issue.record("expected the property to be rejected")
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.contains("no.such.property"))
        }
    }

    @Test("a commit the group refuses after a rebalance is lost, not fatal; the next one sticks")
    func aCommitRefusedAfterARebalance() async throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        try cluster.createTopic("tasks", partitions: 1)
        let kafka = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
        let producer = try KafkaProducer(configuration: kafka)
        for index in 0..<2 { _ = try await producer.send(topic: "tasks", key: nil, value: Array("\(index)".utf8)) }
        await producer.close()
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(kafka: kafka, groupID: "lost-group"), topics: ["tasks"])
        var first: KafkaMessage?
        for try await message in consumer.messages {
            first = message
            break
        }
        let message = try #require(first)
        // OffsetCommit (API key 8) refused as after an expired session.
        cluster.failNextRequests(apiKey: 8, with: .unknownMemberID)
        do {
            try await consumer.commit(message)
            Issue.record("the refused commit did not throw")
        } catch {
            #expect(error.isLostCommit, "\(error)")
        }
        cluster.failNextRequests(apiKey: 8, with: .illegalGeneration)
        #expect(try await consumer.commitUnlessRebalanced([message.nextPosition]) == false)
        // The member rejoins on its next polls and, nothing being committed, gets the message again.
        var again: KafkaMessage?
        let deadline = ContinuousClock.now + .seconds(60)
        while again == nil, ContinuousClock.now < deadline {
            if let next = try await consumer.poll(timeoutMilliseconds: 200), next.offset == message.offset {
                again = next
            }
        }
        let redelivered = try #require(again)
        #expect(redelivered.value == message.value)
        #expect(try await consumer.commitUnlessRebalanced([redelivered.nextPosition]))
        let committed = try await consumer.committed([message.nextPosition.topicPartition])
        #expect(committed.map(\.offset) == [message.offset + 1])
        await consumer.close()
    }

    @Test func producedMessagesArriveInOrderPerKeyAndCommitsStick() async throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        try cluster.createTopic("votes", partitions: 3)
        let kafka = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
        let producer = try KafkaProducer(configuration: kafka)
        var reports: [KafkaDeliveryReport] = []
        for index in 0..<60 {
            let key = "problem-\(index % 6)"
            reports.append(try await producer.send(topic: "votes", key: Array(key.utf8), value: Array("\(index)".utf8)))
        }
        await producer.close()
        // One key always lands on one partition, at increasing offsets.
        for key in 0..<6 {
            let mine = stride(from: key, to: 60, by: 6).map { reports[$0] }
            #expect(Set(mine.map(\.partition)).count == 1)
            #expect(mine.map(\.offset) == mine.map(\.offset).sorted())
        }

        var configuration = KafkaConsumerConfiguration(kafka: kafka, groupID: "mock-group")
        configuration.sessionTimeoutMilliseconds = 6000
        let consumer = try KafkaConsumer(configuration: configuration, topics: ["votes"])
        var seen: [String: [Int]] = [:]
        var count = 0
        for try await message in consumer.messages {
            let key = String(decoding: message.key ?? [], as: UTF8.self)
            seen[key, default: []].append(Int(String(decoding: message.value, as: UTF8.self))!)
            try await consumer.commit(message)
            count += 1
            if count == 60 { break }
        }
        for (key, values) in seen {
            #expect(values == values.sorted(), "messages of \(key) out of order")
            #expect(values.count == 10)
        }
        let partitions = (0..<3).map { KafkaTopicPartition(topic: "votes", partition: Int32($0)) }
        let committed = try await consumer.committed(partitions)
        let expected = Dictionary(grouping: reports, by: \.partition).mapValues { ($0.map(\.offset).max() ?? -1) + 1 }
        for position in committed {
            #expect(position.offset == expected[position.topicPartition.partition] ?? -1001)
        }
        await consumer.close()
        await #expect(throws: KafkaError.self) { try await consumer.assignment() }
    }

    @Test func aFullLocalQueueAppliesBackPressureAndLosesNothing() async throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        try cluster.createTopic("busy", partitions: 2)
        // Room for only 10 messages in flight: most sends must wait for delivery reports.
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(
                bootstrapServers: cluster.bootstrapServers, properties: ["queue.buffering.max.messages": "10"]))
        let offsets = try await withThrowingTaskGroup(of: KafkaDeliveryReport.self) { group in
            for index in 0..<500 {
                group.addTask {
                    try await producer.send(topic: "busy", key: nil, value: Array("\(index)".utf8), partition: 0)
                }
            }
            return try await group.reduce(into: [Int64]()) { $0.append($1.offset) }
        }
        await producer.close()
        #expect(offsets.sorted() == Array(0..<500))
    }

    @Test func aClosedProducerRefusesToSend() async throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
        await producer.close()
        do {
            try await producer.send(topic: "t", key: nil, value: [1])
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .closed)
        }
    }
}
