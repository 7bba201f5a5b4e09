import QuorumServing
import Testing

/// Which format a pipeline worker serves a model in.
@Suite struct PipelineFormatTests {
    @Test func aPlainModelIsServedAsRequested() throws {
        for format in ServingFormat.allCases {
            #expect(try ServingFormat.forPipeline(requested: format, trained: nil) == format)
        }
    }

    @Test func aTernaryTrainedModelIsServedInItsSchemeOrRefused() throws {
        for trained in [ServingFormat.b158, .a48] {
            #expect(try ServingFormat.forPipeline(requested: .fp32, trained: trained) == trained)
            #expect(try ServingFormat.forPipeline(requested: trained, trained: trained) == trained)
            for other in ServingFormat.allCases where other != .fp32 && other != trained {
                let error = #expect(throws: ServingError.self) {
                    try ServingFormat.forPipeline(requested: other, trained: trained)
                }
                #expect(error?.description.contains("set serving_format: \(trained.rawValue)") == true)
            }
        }
    }
}
