import QuorumModel
import Testing

@Suite struct ConfigBoundsTests {
    static let sane = LlamaConfig(
        hiddenSize: 64, intermediateSize: 128, numAttentionHeads: 4, numKeyValueHeads: 2, numHiddenLayers: 2,
        vocabSize: 300, maxPositionEmbeddings: 128)

    @Test func aSaneConfigPasses() throws {
        try Self.sane.validate()
    }

    @Test func sizesBeyondAnyModelAreRefusedByName() {
        var huge = Self.sane
        huge.vocabSize = 1 << 40  // vocab × hidden would overflow the embedding's size
        let error = #expect(throws: ModelError.self) { try huge.validate() }
        #expect(error?.description.contains("vocab_size") == true)
        var deep = Self.sane
        deep.numHiddenLayers = 100_000
        #expect(throws: ModelError.self) { try deep.validate() }
    }
}
