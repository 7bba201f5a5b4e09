import QuorumTensor
import Testing
import QuorumCore

@Suite("QuorumTensor kernels")
struct TensorTests {
    @Test(
        "BLAS gemm equals the scalar reference",
        arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemmMatchesReference(transA: Bool, transB: Bool) {
        let m = 7
        let n = 5
        let k = 9
        let a = gaussians(m * k, seed: 1).map(Float.init)
        let b = gaussians(k * n, seed: 2).map(Float.init)
        var c1 = gaussians(m * n, seed: 3).map(Float.init)
        var c2 = c1
        let lda = transA ? m : k
        let ldb = transB ? k : n
        gemm(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb, beta: 1,
            c: &c1, ldc: n)
        referenceGemm(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb, beta: 1,
            c: &c2, ldc: n)
        #expect(maxAbsDiff(c1, c2) < 1e-5)
        let ad = a.map(Double.init)
        let bd = b.map(Double.init)
        var d1 = [Double](repeating: 0, count: m * n)
        var d2 = d1
        gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: ad, lda: lda, b: bd, ldb: ldb, c: &d1, ldc: n)
        referenceGemm(
            transA: transA, transB: transB, m: m, n: n, k: k, a: ad, lda: lda, b: bd, ldb: ldb, c: &d2, ldc: n)
        #expect(maxAbsDiff(d1, d2) < 1e-12)
    }

    @Test("SIMD dot and axpy equal their scalar references", arguments: [1, 7, 8, 16, 37, 100])
    func vectorKernels(n: Int) {
        let a = gaussians(n, seed: 4).map(Float.init)
        let b = gaussians(n, seed: 5).map(Float.init)
        let fast = Vector.dot(a, b, count: n)
        let slow = Vector.referenceDot(a, b, count: n)
        #expect(abs(fast - slow) < 1e-4)
        var y1 = b
        var y2 = b
        Vector.axpy(0.3, a, &y1, count: n)
        Vector.referenceAxpy(0.3, a, &y2, count: n)
        #expect(maxAbsDiff(y1, y2) < 1e-6)
    }

    @Test("SplitMix64 streams are reproducible and Gaussians look standard")
    func randomStreams() {
        var a = SplitMix64(seed: 42, stream: 3)
        var b = SplitMix64(seed: 42, stream: 3)
        var c = SplitMix64(seed: 42, stream: 4)
        let xa = (0..<5).map { _ in a.next() }
        #expect(xa == (0..<5).map { _ in b.next() })
        #expect(xa != (0..<5).map { _ in c.next() })
        let g = gaussians(20000, seed: 9)
        let mean = g.reduce(0, +) / Double(g.count)
        let variance = g.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(g.count)
        #expect(abs(mean) < 0.03)
        #expect(abs(variance - 1) < 0.05)
    }

    @Test("parallelFor visits every index once")
    func parallelForVisitsAll() {
        var hits = [Int](repeating: 0, count: 1000)
        hits.withUnsafeMutableBufferPointer { h in
            let p = h.baseAddress!
            parallelFor(1000) { p[$0] += 1 }
        }
        #expect(hits.allSatisfy { $0 == 1 })
    }

    @Test("SIMD exp agrees with expf to 2e-7 relative, and sum/max with their loops", arguments: [1, 8, 13, 1000])
    func simdExp(n: Int) {
        let x = (0..<n).map { Float(-85 + 170 * Double($0) / Double(max(n - 1, 1))) }
        var fast = [Float](repeating: 0, count: n)
        var slow = fast
        Vector.exp(x, scale: 1, shift: 0, &fast, count: n)
        Vector.referenceExp(x, scale: 1, shift: 0, &slow, count: n)
        let worst = zip(fast, slow).reduce(0.0) { max($0, Double(abs($1.0 - $1.1) / $1.1)) }
        #expect(worst < 2e-7, "max relative error \(worst)")
        var shifted = [Float](repeating: 0, count: n)
        Vector.exp(x, scale: -0.5, shift: 3, &shifted, count: n)
        #expect(abs(shifted[0] - Float.exp(-0.5 * x[0] + 3)) <= 2e-7 * shifted[0])
        #expect(abs(Vector.sum(x, count: n) - x.reduce(0, +)) < 1e-2)
        #expect(Vector.max(x, count: n) == x.max()!)
        // Clamped at the ends: finite and positive.
        let extremes: [Float] = [-1000, 1000, -.infinity]
        var out = [Float](repeating: 0, count: 3)
        Vector.exp(extremes, scale: 1, shift: 0, &out, count: 3)
        #expect(out.allSatisfy { $0.isFinite && $0 > 0 })
    }
}
