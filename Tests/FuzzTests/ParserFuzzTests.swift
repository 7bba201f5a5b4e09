import Foundation
import GGUF
import NeuZip
import QuorumCore
import QuorumPipeline
import QuorumTasks
import QuorumTokenizer
import QuorumVoting
import SafeTensors
import Testing

/// Mutation fuzzing of every parser that reads outside input: each gets a valid input, then thousands
/// of mutants of it (bit flips, interesting integers written over random spots, truncations,
/// insertions, repeated chunks, and for text formats numbers and brackets swapped for hostile ones).
/// A parser may accept or reject a mutant with an error; a crash (a trap, an overflow, an
/// out-of-bounds read) ends the test process and fails the run. Seeds are fixed, so a crash repeats.
@Suite("Parser fuzzing")
struct ParserFuzzTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let model = root.appendingPathComponent("Tests/QuorumIntegrationTests/Fixtures/tiny-arith")

    /// Feeds `count` mutants of `seed` to `parse`; returns how many it accepted. The seed itself must parse.
    static func fuzz(
        _ name: String, seed: [UInt8], count: Int, text: Bool = false, _ parse: ([UInt8]) throws -> Void
    ) throws -> (accepted: Int, rejected: Int) {
        try parse(seed)
        var rng = SplitMix64(seed: FNV1a.hash(name))
        var accepted = 0
        for _ in 0..<count {
            let mutant = Mutator.mutate(seed, text: text, rng: &rng)
            do {
                try parse(mutant)
                accepted += 1
            } catch {}
        }
        print("[fuzz] \(name): \(count) mutants, \(accepted) accepted, \(count - accepted) rejected with an error")
        return (accepted, count - accepted)
    }

    @Test func gguf() throws {
        let seed = [UInt8](try Data(contentsOf: Self.root.appendingPathComponent("Tests/GGUFTests/Fixtures/reference.gguf")))
        let result = try Self.fuzz("gguf", seed: seed, count: 3000) { bytes in
            let reader = try GGUFReader(bytes: bytes)
            _ = reader.listing
            for info in reader.tensors { _ = try reader.values(of: info) }
        }
        #expect(result.rejected > 0)
    }

    @Test func safetensors() throws {
        let seed = [UInt8](try Data(contentsOf: Self.model.appendingPathComponent("model.safetensors")))
        let result = try Self.fuzz("safetensors", seed: seed, count: 3000) { bytes in
            _ = try SafeTensorsHeader.parse(file: bytes)
        }
        #expect(result.rejected > 0)
    }

    @Test func neuZipCheckpoint() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(getpid()).nzck")
        defer { try? FileManager.default.removeItem(at: scratch) }
        _ = try CompressedCheckpoint.compress(input: Self.model.path, output: scratch.path, mode: .lossless)
        let seed = [UInt8](try Data(contentsOf: scratch))
        let result = try Self.fuzz("nzck", seed: seed, count: 1500) { bytes in
            let reader = try CheckpointReader(bytes: bytes)
            for record in reader.tensors { _ = try reader.read(record, threads: 1) }
        }
        #expect(result.rejected > 0)
    }

    @Test func tokenizerJSON() throws {
        let seed = [UInt8](
            try Data(contentsOf: Self.root.appendingPathComponent("Tests/QuorumTokenizerTests/Fixtures/quorum-single-digits.json")))
        let result = try Self.fuzz("tokenizer.json", seed: seed, count: 2000, text: true) { bytes in
            let tokenizer = try BPETokenizer(tokenizerJSON: Data(bytes))
            _ = tokenizer.decode(tokenizer.encode("Tom has 12 apples. #### 7"))
        }
        #expect(result.rejected > 0)
    }

    @Test func jsonlRows() throws {
        let problems = Array(
            #"""
            {"id": "a-1", "question": "Ann has 3 apples and buys 4 more. How many?", "answer": "Ann has 3 + 4 = 7.\n#### 7"}
            {"question": "What is 12 * 11?", "answer": "#### 1,32"}
            """#.utf8)
        let problemResult = try Self.fuzz("problems jsonl", seed: problems, count: 3000, text: true) { bytes in
            _ = try ProblemJSONL.decode(Data(bytes))
        }
        let samples = Array(
            #"""
            {"problem_id": "p1", "prompt": "Q", "response": "x #### 4", "gold": "4"}
            {"problem_id": "p1", "prompt": "Q", "response": "y #### 5", "answer": "5"}
            {"problem_id": "p1", "prompt": "Q", "response": "z", "answer": null, "extra": true}
            """#.utf8)
        let sampleResult = try Self.fuzz("samples jsonl", seed: samples, count: 3000, text: true) { bytes in
            _ = try SamplesJSONL.decode(Data(bytes))
        }
        let pairs = Array(
            #"""
            {"problem_id": "p1", "round": 1, "prompt": "Q", "chosen": "a #### 4", "rejected": "b #### 5", "chosen_answer": "4", "rejected_answer": "5", "weight": 0.5, "chosen_votes": 6, "rejected_votes": 2, "k": 8, "source": "self-consistency"}
            """#.utf8)
        let pairResult = try Self.fuzz("pairs jsonl", seed: pairs, count: 3000, text: true) { bytes in
            _ = try PairsJSONL.decodePairs(Data(bytes))
        }
        #expect(problemResult.rejected > 0 && sampleResult.rejected > 0 && pairResult.rejected > 0)
    }

    @Test func kafkaMessages() throws {
        let task = TaskMessage(
            pipeline: "demo", round: 1, problemID: "p-1", question: "What is 2 + 2?", attempt: 1, gold: "4", run: "r1")
        let taskResult = try Self.fuzz("task message", seed: try WireFormat.encode(task), count: 3000, text: true) {
            _ = try WireFormat.decode(TaskMessage.self, from: $0)
        }
        let record = VoteRecordMessage(
            pipeline: "demo", round: 1, problemID: "p-1", k: 8,
            answers: [.init(answer: "4", votes: 6), .init(answer: "5", votes: 2)], unparsable: 0, outcome: "below_threshold",
            worker: "w0", pair: nil)
        let recordResult = try Self.fuzz("vote record", seed: try WireFormat.encode(record), count: 3000, text: true) {
            _ = try WireFormat.decode(VoteRecordMessage.self, from: $0)
        }
        #expect(taskResult.rejected > 0 && recordResult.rejected > 0)
    }

    @Test func pipelineYAML() throws {
        let spec = try String(contentsOf: Self.root.appendingPathComponent("pipelines/arith-demo.yaml"), encoding: .utf8)
        let result = try Self.fuzz("pipeline yaml", seed: Array(spec.utf8), count: 1500, text: true) { bytes in
            _ = try PipelineSpec.parse(String(decoding: bytes, as: UTF8.self))
        }
        #expect(result.rejected > 0)
    }
}

/// Deterministic mutations of a byte string.
enum Mutator {
    static let interesting: [UInt64] = [
        0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 1 << 40,
    ]
    static let hostileTokens = [
        "99999999999999999999999", "-1", "-9223372036854775809", "1e309", "NaN", "null", "\"\"", "[]", "{}", "\"\\u0000\"",
        "3000000000", "0.0000001", "[[[[[[[[", "}}}}", ":", ",", "'", "\n", "- ", "&a", "*a", "!!binary",
    ]

    static func mutate(_ input: [UInt8], text: Bool, rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + Int(rng.next() % 3)) {
            let choice = Int(rng.next() % (text ? 7 : 5))
            let at = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
            switch choice {
            case 0:  // flip bits
                if !bytes.isEmpty { bytes[at] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8)) }
            case 1:  // an interesting integer over 1, 2, 4 or 8 bytes
                let width = [1, 2, 4, 8][Int(rng.next() % 4)]
                let value = interesting[Int(rng.next() % UInt64(interesting.count))]
                for offset in 0..<width where at + offset < bytes.count {
                    bytes[at + offset] = UInt8(truncatingIfNeeded: value >> (8 * offset))
                }
            case 2:  // truncate
                bytes = Array(bytes.prefix(at))
            case 3:  // insert random bytes
                bytes.insert(contentsOf: (0..<(1 + rng.next() % 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            case 4:  // repeat a chunk
                let length = min(bytes.count - at, 1 + Int(rng.next() % 256))
                bytes.insert(contentsOf: bytes[at..<(at + length)], at: at)
            case 5:  // a hostile token in place of a number
                let token = Array(hostileTokens[Int(rng.next() % UInt64(hostileTokens.count))].utf8)
                var end = at
                while end < bytes.count, bytes[end] >= UInt8(ascii: "0"), bytes[end] <= UInt8(ascii: "9") { end += 1 }
                bytes.replaceSubrange(at..<max(end, min(at + 1, bytes.count)), with: token)
            default:  // drop a structural character
                if let index = bytes[at...].firstIndex(where: { "{}[]\":,".utf8.contains($0) }) { bytes.remove(at: index) }
            }
        }
        return bytes
    }
}
