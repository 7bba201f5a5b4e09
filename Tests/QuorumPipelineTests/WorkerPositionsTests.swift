import Testing

@testable import QuorumKafka
@testable import QuorumPipeline

/// Which positions a worker commits after a batch: past every task it answered or set aside, but never
/// past a task whose vote record could not be delivered.
@Suite struct WorkerPositionsTests {
    static func message(_ partition: Int32, _ offset: Int64) -> KafkaMessage {
        KafkaMessage(topic: "t", partition: partition, offset: offset, key: nil, value: [])
    }

    @Test func theBatchIsCommittedPastItsLastMessagePerPartition() {
        let positions = Worker.positions(after: [Self.message(0, 4), Self.message(0, 7), Self.message(1, 2)])
        #expect(positions.map(\.topicPartition.partition) == [0, 1])
        #expect(positions.map(\.offset) == [8, 3])
    }

    @Test func anUndeliveredTaskHoldsItsPartitionBack() {
        let done = [Self.message(0, 4), Self.message(0, 7), Self.message(1, 2)]
        let positions = Worker.positions(after: done, notPast: [Self.message(0, 5)])
        #expect(positions.first { $0.topicPartition.partition == 0 }?.offset == 5)  // offset 5 is read again
        #expect(positions.first { $0.topicPartition.partition == 1 }?.offset == 3)
    }
}
