import Foundation
import Testing

@testable import GGUF

/// `Fixtures/reference.gguf` is written by `ops/fixtures/make_gguf_fixture.py` with PyPI's `gguf`
/// package (llama.cpp's own Python writer and numpy quantizers).
private let fixturePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/reference.gguf").path

@Suite("GGUF container and ggml block formats")
struct GGUFTests {
    let reader: GGUFReader

    init() throws {
        reader = try GGUFReader(path: fixturePath)
    }

    @Test("reads every metadata value type the gguf package wrote")
    func readsMetadata() throws {
        #expect(reader.version == 3)
        #expect(reader["general.architecture"] == .string("quorum-test"))
        #expect(reader["test.u8"] == .uint8(200))
        #expect(reader["test.i8"] == .int8(-100))
        #expect(reader["test.u16"] == .uint16(60000))
        #expect(reader["test.i16"] == .int16(-30000))
        #expect(reader["test.u32"] == .uint32(4_000_000_000))
        #expect(reader["test.i32"] == .int32(-2_000_000_000))
        #expect(reader["test.f32"] == .float32(0.1))
        #expect(reader["test.u64"] == .uint64(1 << 63 + 5))
        #expect(reader["test.i64"] == .int64(-(1 << 62)))
        #expect(reader["test.f64"] == .float64(-1.25e-300))
        #expect(reader["test.bool"] == .bool(true))
        #expect(reader["test.string"] == .string("Grüße, \"GGUF\"\n"))
        #expect(reader["test.strings"] == .strings(["a", "", "Ġ#"]))
        #expect(reader["test.ints"] == .int32s([1, -2, 3]))
        #expect(reader["test.floats"] == .array(elementType: .float32, values: [.float32(0.5), .float32(-1.5)]))
        #expect(reader.tensors.count == 20)
        let q4 = try #require(reader.tensor("x.normal.q4_0"))
        #expect(q4.dimensions == [512, 3])
        #expect(q4.type == .q4_0)
        #expect(q4.byteCount == 3 * 16 * 18)
    }

    @Test(
        "quantizes to the gguf package's bytes exactly",
        arguments: ["normal", "tiny", "large", "edge"], ["q8_0", "q4_0", "tq2_0", "f16"])
    func quantizesLikeReference(input: String, type: String) throws {
        let x = try reader.values(of: #require(reader.tensor("x.\(input)")))
        let expected = try #require(reader.tensor("x.\(input).\(type)"))
        let bytes = try BlockQuantization.encode(x, as: expected.type)
        let reference = try reader.data(of: expected)
        #expect(bytes.count == reference.count)
        let firstDifference = zip(bytes, reference).enumerated().first(where: { $0.element.0 != $0.element.1 })
        #expect(firstDifference == nil, "first differing byte at \(firstDifference?.offset ?? -1)")
    }

    @Test(
        "dequantized blocks are within half a quantization step (Q4_0: one step)",
        arguments: [GGMLType.q8_0, .q4_0, .tq2_0])
    func dequantizationError(type: GGMLType) throws {
        let x = try reader.values(of: #require(reader.tensor("x.normal")))
        let decoded = try BlockQuantization.decode(BlockQuantization.encode(x, as: type), as: type, count: x.count)
        let block = type.blockSize
        let levels: Float = type == .q8_0 ? 127 : type == .q4_0 ? 8 : 1
        for b in 0..<(x.count / block) {
            let slice = (b * block)..<((b + 1) * block)
            let amax = x[slice].map(abs).max()!
            let step = amax / levels
            // Half a step from rounding, plus the fp16 rounding of the scale (2^-11 relative) times
            // the largest code. Q4_0 codes span −8…7 steps with the extreme at −8, so an element of
            // the opposite sign near the extreme is clamped to 7 steps: up to a whole step off.
            let steps: Float = type == .q4_0 ? 1 : 0.5
            let bound = step * steps + amax * 1.0e-3
            let worst = slice.map { abs(decoded[$0] - x[$0]) }.max()!
            #expect(worst <= bound, "block \(b): error \(worst) > \(bound)")
        }
    }

    @Test("hand-made blocks: codes and scales follow ggml's formulas")
    func handMadeBlocks() throws {
        // Q8_0: max |x| = 127 → d = 1; 2.5 rounds away from zero to 3; −0.5 to −1.
        var x = [Float](repeating: 0, count: 32)
        x[0] = 127
        x[1] = 2.5
        x[2] = -0.5
        let q8 = try BlockQuantization.encode(x, as: .q8_0)
        #expect(q8[0] == 0x00 && q8[1] == 0x3C)  // fp16 1.0
        #expect(Array(q8[2...4]) == [127, 3, 0xFF])
        // Q4_0: the largest-magnitude element is −16 → d = −16 / −8 = 2, 1/d = 0.5.
        var y = [Float](repeating: 0, count: 32)
        y[0] = -16
        y[16] = 14
        y[1] = 3
        let q4 = try BlockQuantization.encode(y, as: .q4_0)
        #expect(q4[0] == 0x00 && q4[1] == 0x40)  // fp16 2.0
        // element 0: trunc(−16 · 0.5 + 8.5) = 0; element 16: trunc(14 · 0.5 + 8.5) = 15.
        #expect(q4[2] == 0x00 | 15 << 4)
        // element 1: trunc(3 · 0.5 + 8.5) = 10; element 17 is 0 → 8.
        #expect(q4[3] == 10 | 8 << 4)
        // TQ2_0: d = max |x| = 4; −4 → 0, 1 → round(0.25) = 0 → 1, 3 → round(0.75) = 1 → 2.
        var z = [Float](repeating: 0, count: 256)
        z[0] = -4
        z[32] = 1
        z[64] = 3
        z[128 + 96] = 2
        let tq = try BlockQuantization.encode(z, as: .tq2_0)
        #expect(tq.count == 66)
        #expect(tq[0] == 0 | 1 << 2 | 2 << 4 | 1 << 6)
        #expect(tq[32] == 1 | 1 << 2 | 1 << 4 | 2 << 6)  // round(0.5) = 1 away from zero
        #expect(tq[64] == 0x00 && tq[65] == 0x44)  // fp16 4.0
    }

    @Test("re-writing the parsed reference file reproduces it byte for byte")
    func rewriteIsIdentical() throws {
        var writer = GGUFWriter()
        for (key, value) in reader.metadata { writer.set(key, value) }
        for info in reader.tensors {
            try writer.addTensor(
                name: info.name, dimensions: info.dimensions, type: info.type, data: reader.data(of: info))
        }
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixturePath)))
        let rewritten = try writer.bytes()
        #expect(rewritten.count == original.count)
        #expect(rewritten == original)
    }

    @Test("a written file reads back: metadata, alignment and tensor values")
    func roundTrip() throws {
        var writer = GGUFWriter(alignment: 64)
        writer.set("a.nested", .array(elementType: .array, values: [.int32s([1, 2]), .int32s([])]))
        writer.set("a.flag", .bool(false))
        let values = (0..<96).map { Float($0) * 0.25 - 7 }
        try writer.addTensor(name: "w", dimensions: [32, 3], type: .f32, values: values)
        try writer.addTensor(name: "q", dimensions: [32, 3], type: .q8_0, values: values)
        let back = try GGUFReader(bytes: writer.bytes())
        #expect(back.alignment == 64)
        #expect(back["general.alignment"] == .uint32(64))
        #expect(back["a.nested"] == .array(elementType: .array, values: [.int32s([1, 2]), .int32s([])]))
        #expect(back["a.flag"] == .bool(false))
        #expect(back.dataStart % 64 == 0)
        #expect(try back.values(of: #require(back.tensor("w"))) == values)
        #expect(try #require(back.tensor("q")).offset == 384)  // 96 · 4 bytes, already 64-aligned
        let q = try back.values(of: #require(back.tensor("q")))
        // Half a Q8_0 step of the block with the largest magnitude (16.75), plus fp16 slack.
        #expect(zip(q, values).allSatisfy { abs($0 - $1) <= 0.5 * 16.75 / 127 + 1e-3 })
    }

    @Test("bad input gets a clear error")
    func errors() throws {
        var writer = GGUFWriter()
        #expect(throws: GGUFError.self) {
            try writer.addTensor(name: "odd", dimensions: [48, 2], type: .q8_0, values: .init(repeating: 1, count: 96))
        }
        #expect(throws: GGUFError.self) {
            try writer.addTensor(
                name: "nan", dimensions: [32], type: .q8_0, values: [.nan] + .init(repeating: 1, count: 31))
        }
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixturePath)))
        #expect(throws: GGUFError.self) { try GGUFReader(bytes: Array(original.prefix(1000))) }
        #expect(throws: GGUFError.self) { try GGUFReader(bytes: Array(original.dropLast(100))) }
        #expect(throws: GGUFError.self) { try GGUFReader(bytes: [0x47, 0x47, 0x55, 0x47] + original.dropFirst(4)) }
    }

    @Test("crafted dimensions whose product overflows are an error, not a crash")
    func overflowingDimensions() {
        func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        let name = Array("w".utf8)
        var bytes = le(GGUF.magic) + le(GGUF.version) + le(UInt64(1)) + le(UInt64(0))
        bytes += le(UInt64(name.count)) + name + le(UInt32(4))
        for _ in 0..<4 { bytes += le(UInt64(1) << 39) }  // each allowed alone, 2¹⁵⁶ together
        bytes += le(UInt32(0)) + le(UInt64(0)) + [UInt8](repeating: 0, count: 64)
        let error = #expect(throws: GGUFError.self) { try GGUFReader(bytes: bytes) }
        #expect(error.map { "\($0)".contains("exceeds") } == true)
    }
}

@Suite("llama.cpp conventions")
struct LlamaGGUFTests {
    @Test("Hugging Face names map to llama.cpp names")
    func names() {
        #expect(LlamaGGUF.ggufName(huggingFace: "model.embed_tokens.weight") == "token_embd.weight")
        #expect(LlamaGGUF.ggufName(huggingFace: "model.layers.3.self_attn.o_proj.weight") == "blk.3.attn_output.weight")
        #expect(LlamaGGUF.ggufName(huggingFace: "model.layers.0.mlp.down_proj.weight") == "blk.0.ffn_down.weight")
        #expect(
            LlamaGGUF.ggufName(huggingFace: "model.layers.1.post_attention_layernorm.weight") == "blk.1.ffn_norm.weight"
        )
        #expect(LlamaGGUF.ggufName(huggingFace: "lm_head.weight") == "output.weight")
        #expect(LlamaGGUF.ggufName(huggingFace: "model.layers.0.self_attn.rotary_emb.inv_freq") == nil)
    }

    @Test("only block linears whose rows fit the block are quantized")
    func storageTypes() {
        #expect(LlamaGGUF.storageType(ggufName: "blk.0.attn_q.weight", rowLength: 512, export: .tq2_0) == .tq2_0)
        #expect(LlamaGGUF.storageType(ggufName: "blk.0.ffn_down.weight", rowLength: 1408, export: .tq2_0) == .f16)
        #expect(LlamaGGUF.storageType(ggufName: "blk.0.ffn_down.weight", rowLength: 1408, export: .q4_0) == .q4_0)
        #expect(LlamaGGUF.storageType(ggufName: "token_embd.weight", rowLength: 512, export: .q8_0) == .f32)
        #expect(LlamaGGUF.storageType(ggufName: "blk.0.attn_norm.weight", rowLength: 512, export: .q8_0) == .f32)
        #expect(LlamaGGUF.storageType(ggufName: "blk.0.ffn_up.weight", rowLength: 512, export: .f32) == .f32)
    }

    @Test("rotary rows: halves become adjacent pairs within each head")
    func permutationOrder() {
        let rows: [Float] = [0, 1, 2, 3, 4, 5, 6, 7]
        #expect(LlamaGGUF.permuteRotaryRows(rows, heads: 2, headDim: 4, columns: 1) == [0, 2, 1, 3, 4, 6, 5, 7])
        let wide: [Float] = [0, 10, 1, 11, 2, 12, 3, 13]  // one head of 4 rows, 2 columns
        #expect(LlamaGGUF.permuteRotaryRows(wide, heads: 1, headDim: 4, columns: 2) == [0, 10, 2, 12, 1, 11, 3, 13])
    }

    @Test("permuted projections with adjacent-pair RoPE give Hugging Face's rotate-half attention scores")
    func permutationPreservesScores() {
        let heads = 2
        let headDim = 8
        let columns = 5
        var state: UInt64 = 7
        func random() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
        }
        let wq = (0..<(heads * headDim * columns)).map { _ in random() }
        let wk = (0..<(heads * headDim * columns)).map { _ in random() }
        let x1 = (0..<columns).map { _ in random() }
        let x2 = (0..<columns).map { _ in random() }
        func project(_ w: [Float], _ x: [Float]) -> [Float] {
            (0..<(w.count / columns)).map { r in (0..<columns).reduce(Float(0)) { $0 + w[r * columns + $1] * x[$1] } }
        }
        func angle(_ i: Int, _ position: Int) -> Float {
            Float(position) * pow(10000, -Float(2 * i) / Float(headDim))
        }
        // Hugging Face: pairs (i, i + d/2).
        func ropeHalves(_ v: [Float], _ p: Int) -> [Float] {
            var out = v
            for h in 0..<heads {
                for i in 0..<(headDim / 2) {
                    let a = v[h * headDim + i]
                    let b = v[h * headDim + i + headDim / 2]
                    out[h * headDim + i] = a * cos(angle(i, p)) - b * sin(angle(i, p))
                    out[h * headDim + i + headDim / 2] = b * cos(angle(i, p)) + a * sin(angle(i, p))
                }
            }
            return out
        }
        // ggml's normal RoPE: pairs (2i, 2i + 1).
        func ropePairs(_ v: [Float], _ p: Int) -> [Float] {
            var out = v
            for h in 0..<heads {
                for i in 0..<(headDim / 2) {
                    let a = v[h * headDim + 2 * i]
                    let b = v[h * headDim + 2 * i + 1]
                    out[h * headDim + 2 * i] = a * cos(angle(i, p)) - b * sin(angle(i, p))
                    out[h * headDim + 2 * i + 1] = b * cos(angle(i, p)) + a * sin(angle(i, p))
                }
            }
            return out
        }
        let pq = LlamaGGUF.permuteRotaryRows(wq, heads: heads, headDim: headDim, columns: columns)
        let pk = LlamaGGUF.permuteRotaryRows(wk, heads: heads, headDim: headDim, columns: columns)
        let q = ropeHalves(project(wq, x1), 5)
        let k = ropeHalves(project(wk, x2), 2)
        let qp = ropePairs(project(pq, x1), 5)
        let kp = ropePairs(project(pk, x2), 2)
        for h in 0..<heads {
            let range = (h * headDim)..<((h + 1) * headDim)
            let score = range.reduce(Float(0)) { $0 + q[$1] * k[$1] }
            let scorePermuted = range.reduce(Float(0)) { $0 + qp[$1] * kp[$1] }
            #expect(abs(score - scorePermuted) < 1e-5)
        }
        // Without the permutation the scores differ: the test can fail.
        let qWrong = ropePairs(project(wq, x1), 5)
        let kWrong = ropePairs(project(wk, x2), 2)
        let wrong = (0..<headDim).reduce(Float(0)) { $0 + qWrong[$1] * kWrong[$1] }
        let right = (0..<headDim).reduce(Float(0)) { $0 + q[$1] * k[$1] }
        #expect(abs(wrong - right) > 1e-3)
    }

    @Test("Quorum's pre-tokenizer regex is llama.cpp's qwen2 one")
    func preTokenizer() {
        let quorum =
            #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        #expect(LlamaGGUF.preTokenizerName(splitPattern: quorum) == "qwen2")
        let llama3 =
            #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        #expect(LlamaGGUF.preTokenizerName(splitPattern: llama3) == "llama-bpe")
        #expect(LlamaGGUF.preTokenizerName(splitPattern: #"\s+|\S+"#) == nil)
    }
}
