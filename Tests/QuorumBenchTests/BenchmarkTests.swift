import Foundation
import QuorumModel
import QuorumQuant
import QuorumServing
import Testing

@testable import QuorumBench

/// The benchmarks' option parsing, validation and the parts that run in milliseconds.
@Suite("Benchmarks")
struct BenchmarkTests {
    /// Runs `body` and returns the BenchError it threw, or records an issue.
    func benchError(_ body: () async throws -> Void) async -> BenchError? {
        do {
            try await body()
            Issue.record("expected a BenchError")
        } catch let error as BenchError {
            return error
        } catch {
            Issue.record("expected a BenchError, got \(error)")
        }
        return nil
    }

    @Test func shapesParseAndBadOnesAreNamed() async throws {
        let shapes = try QuantKernelBenchmark.Shape.list(parsing: "512x1536,3x7")
        #expect(shapes.map(\.outFeatures) == [512, 3])
        #expect(shapes.map(\.inFeatures) == [1536, 7])
        #expect(shapes.map(\.description).joined(separator: ",") == "512x1536,3x7")
        for bad in ["512", "0x4", "ax3", "5x5x5", "4x", "", "4x-2"] {
            let error = await benchError { _ = try QuantKernelBenchmark.Shape.list(parsing: bad) }
            #expect(error?.description.contains("bad shape '\(bad)'") == true, "\(bad): \(String(describing: error))")
        }
    }

    @Test func quantFormatsAndNumberListsParse() async throws {
        #expect(try QuantKernelBenchmark.formats(parsing: "all") == QuantFormat.all)
        let named = try QuantKernelBenchmark.formats(parsing: "fp32,w8a8,ternary-int8")
        #expect(named == [.fp32, .w8a8Int, .ternary(.int8Absmax)])
        let error = await benchError { _ = try QuantKernelBenchmark.formats(parsing: "fp32,fp33") }
        #expect(error?.description.contains("'fp33'") == true)
        #expect(try QuantKernelBenchmark.tokenCounts(parsing: "1,8,64") == [1, 8, 64])
        #expect(await benchError { _ = try QuantKernelBenchmark.tokenCounts(parsing: "1,0") } != nil)
        #expect(try QuantKernelBenchmark.zeroFractions(parsing: "0,0.5,1") == [0, 0.5, 1])
        #expect(try QuantKernelBenchmark.zeroFractions(parsing: "").isEmpty)
        #expect(await benchError { _ = try QuantKernelBenchmark.zeroFractions(parsing: "0.5,1.5") } != nil)
    }

    @Test func servingFormatsParse() async throws {
        #expect(try SamplingBenchmark.formats(parsing: "all") == ServingFormat.allCases)
        #expect(try SamplingBenchmark.formats(parsing: "w8a8,b1.58") == [.w8a8, .b158])
        let error = await benchError { _ = try SamplingBenchmark.formats(parsing: "w8a8,int3") }
        #expect(error?.description.contains("'int3'") == true)
        #expect(error?.description.contains(ServingFormat.names) == true)
    }

    @Test func quantBenchmarkOnATinyShapeIsExactInFP32AndCloseInW8A8() async throws {
        var benchmark = QuantKernelBenchmark()
        benchmark.shapes = [.init(outFeatures: 16, inFeatures: 64)]
        benchmark.tokenCounts = [1, 3]
        benchmark.formats = [.fp32, .w8a8Int]
        benchmark.zeroFractions = [0.5]
        benchmark.threads = 1
        benchmark.secondsPerMeasurement = 0.002
        let report = try await benchmark.run()
        #expect(report.results.count == 4)
        #expect(report.zeroSkipping.count == 2)  // w8a8 only: one per token count
        for result in report.results {
            #expect(result.microsecondsPerCall > 0)
            #expect(result.gflops > 0)
            #expect((result.outFeatures, result.inFeatures) == (16, 64))
            switch result.format {
            case "fp32":
                #expect(result.relativeErrorVsFP32 < 1e-5)
                #expect(result.speedupVsFP32 == 1)
                #expect(result.bitsPerWeight >= 32)
            case "w8a8":
                #expect(result.relativeErrorVsFP32 > 0 && result.relativeErrorVsFP32 < 0.05)
                #expect(result.bitsPerWeight >= 8 && result.bitsPerWeight < 16)
                #expect(result.speedupVsFP32.map { $0 > 0 } == true)
            default:
                Issue.record("unexpected format \(result.format)")
            }
        }
        #expect(report.zeroSkipping.allSatisfy { $0.format == "w8a8" && $0.zeroFraction == 0.5 && $0.speedup > 0 })
        #expect(report.threads == 1)
    }

    @Test func invalidSettingsFailBeforeTouchingAnything() async {
        var quant = QuantKernelBenchmark()
        quant.tokenCounts = []
        #expect(await benchError { _ = try await quant.run() } != nil)
        // No broker and no database are reached: the checks come first.
        var kafka = KafkaBenchmark(brokers: "127.0.0.1:1")
        kafka.messages = 0
        #expect(await benchError { _ = try await kafka.run() } != nil)
        var postgres = PostgresBenchmark(databaseURL: "postgres://nobody@127.0.0.1:1/none")
        postgres.rows = 0
        #expect(await benchError { _ = try await postgres.run() } != nil)
        var train = TrainingThroughputBenchmark()
        train.sequenceLength = 4_096
        let error = await benchError { _ = try await train.run() }
        #expect(error?.description.contains("512-position context") == true)
        var sample = SamplingBenchmark()
        sample.newTokens = 1
        #expect(await benchError { _ = try await sample.run() } != nil)
        var neuzip = NeuZipBenchmark()
        neuzip.syntheticCount = 0
        #expect(await benchError { _ = try await neuzip.run() } != nil)
    }

    @Test func aMissingSafetensorsFileIsABenchError() async {
        var neuzip = NeuZipBenchmark()
        neuzip.inputPath = "/nonexistent/model.safetensors"
        let error = await benchError { _ = try await neuzip.run() }
        #expect(error?.description.contains("/nonexistent/model.safetensors") == true)
    }

    @Test func parameterCountMatchesTheModel() throws {
        for (tied, kvHeads) in [(true, 4), (false, 2)] {
            let config = LlamaConfig(
                hiddenSize: 32, intermediateSize: 48, numAttentionHeads: 4, numKeyValueHeads: kvHeads,
                numHiddenLayers: 2, vocabSize: 40, tieWordEmbeddings: tied, maxPositionEmbeddings: 64)
            let model = try LlamaModel<Float>(config: config, seed: 1)
            #expect(SamplingBenchmark.parameterCount(config) == model.parameterCount, "tied \(tied)")
        }
    }

    @Test func bf16EncodingRoundsToNearestAndFP32IsExact() {
        var rng = SystemRandomNumberGenerator()
        let values = gaussianValues(1_000, scale: 3, using: &rng) + [0, -0, 1, .infinity, -.infinity]
        let fp32 = NeuZipBenchmark.decodeFloats(NeuZipBenchmark.encode(values, bf16: false), dtype: .f32)
        #expect(fp32 == values)
        let bf16 = NeuZipBenchmark.decodeFloats(NeuZipBenchmark.encode(values, bf16: true), dtype: .bf16) ?? []
        #expect(bf16.count == values.count)
        for (v, b) in zip(values, bf16) where v.isFinite {
            #expect(abs(b - v) <= abs(v) * 0x1p-8, "\(v) became \(b)")
            #expect(b.bitPattern & 0xFFFF == 0)
        }
        #expect(NeuZipBenchmark.decodeFloats([1, 2, 3, 4], dtype: .i32) == nil)
    }

    @Test func neuzipOnSyntheticWeightsIsLosslessAndBelowItsBound() async throws {
        var benchmark = NeuZipBenchmark()
        benchmark.syntheticCount = 50_000
        benchmark.zstd = false
        benchmark.lossySweep = false
        let report = try await benchmark.run()
        #expect(report.input.synthetic && report.input.path == nil)
        #expect(report.parameters == 50_000 && report.tensors == 1)
        for result in [report.bf16, report.fp32] {
            #expect(result.bitExact)
            #expect(result.ratio > 1)
            #expect(result.ratio <= result.boundRatio * 1.001)
            #expect(result.exponentEntropyBits > 0 && result.exponentEntropyBits < 8)
        }
        #expect(report.bf16.originalBytes == 2 * 50_000 && report.fp32.originalBytes == 4 * 50_000)
        #expect(report.lossy.isEmpty)
        // zstd skipped: the key is still there, as null.
        let json = String(decoding: try JSONEncoder().encode(report.bf16), as: UTF8.self)
        #expect(json.contains("\"zstd19Ratio\":null"))
    }
}
