import Foundation
import Testing

@testable import QuorumBench

/// The timing, load and list helpers every benchmark shares, and the bandwidth kernel.
@Suite("Benchmark helpers")
struct BenchSupportTests {
    @Test func streamSumMatchesAPlainSumAtEveryLengthAndAlignment() {
        var rng = SystemRandomNumberGenerator()
        let values = (0..<1_000).map { _ in Float.random(in: -1...1, using: &rng) }
        values.withUnsafeBufferPointer { buffer in
            for offset in [0, 1, 3] {
                for count in [0, 1, 31, 32, 33, 64, 95, 500, 1_000 - offset] {
                    let slice = buffer[offset..<(offset + count)]
                    let plain = slice.reduce(0.0) { $0 + Double($1) }
                    let magnitude = slice.reduce(0.0) { $0 + Double(abs($1)) }
                    let simd = MemoryBandwidth.streamSum(buffer.baseAddress! + offset, count: count)
                    #expect(
                        abs(Double(simd) - plain) <= 1e-5 * magnitude + 1e-7,
                        "count \(count), offset \(offset): \(simd) vs \(plain)")
                }
            }
        }
    }

    @Test func bestOfTimingIsPositiveAndNeverBelowTheWorkItTimes() {
        let wait = Duration.microseconds(200)
        let micros = bestMicroseconds(seconds: 0.01, batches: 5) {
            let start = ContinuousClock.now
            while ContinuousClock.now - start < wait {}
        }
        #expect(micros >= 200)
        #expect(micros < 200 * 50)
        #expect(bestMicroseconds(seconds: 0.001, batches: 3) {} > 0)
    }

    @Test func bestSecondsRunsTheBodyOncePerRunAndKeepsTheShortest() {
        var calls = 0
        let best = bestSeconds(of: 7) {
            calls += 1
            // The first run is by far the longest: the minimum must come from a later one.
            if calls == 1 { Thread.sleep(forTimeInterval: 0.05) }
        }
        #expect(calls == 7)
        #expect(best >= 0 && best < 0.05)
    }

    @Test func durationsConvertToSeconds() {
        #expect(seconds(of: .milliseconds(1_500)) == 1.5)
        #expect(abs(seconds(of: .nanoseconds(250)) - 250e-9) < 1e-15)
        let start = ContinuousClock.now
        Thread.sleep(forTimeInterval: 0.01)
        #expect(elapsed(since: start) >= 0.01)
    }

    @Test func cpuSecondsGrowWithBusyWork() {
        let before = processCPUSeconds()
        let start = ContinuousClock.now
        var x = 0.0
        while ContinuousClock.now - start < .milliseconds(100) { x += 1 }
        #expect(x > 0)
        #expect(processCPUSeconds() - before > 0.02)
    }

    @Test func loadAverageReadsTheKernelsThreeNumbers() {
        guard FileManager.default.fileExists(atPath: "/proc/loadavg") else {
            #expect(LoadAverage.text() == "unknown")
            #expect(LoadAverage.oneMinute() == nil)
            return
        }
        let fields = LoadAverage.text().split(separator: " ")
        #expect(fields.count == 3)
        #expect(fields.allSatisfy { Double($0).map { $0 >= 0 } ?? false })
        #expect(LoadAverage.oneMinute() == Double(fields[0]))
    }

    @Test func gaussianValuesHaveTheAskedScale() {
        var rng = SystemRandomNumberGenerator()
        let values = gaussianValues(20_001, scale: 0.02, using: &rng)
        #expect(values.count == 20_001)
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)
        #expect(abs(mean) < 0.002)
        #expect(abs(variance.squareRoot() - 0.02) < 0.001)
        #expect(values.allSatisfy { $0.isFinite })
    }

    @Test func listsNameTheBadItem() throws {
        let rule = "use whole numbers, e.g. 1,2"
        #expect(try parseList("1, 2,3", what: "number", rule: rule) { Int($0) } == [1, 2, 3])
        #expect(throws: BenchError.self) { try parseList("1,,3", what: "number", rule: rule) { Int($0) } }
        do {
            _ = try parseList("1,x", what: "number", rule: rule) { Int($0) }
            Issue.record("a bad item must throw")
        } catch {
            #expect(error.description.contains("bad number 'x'"))
            #expect(error.description.contains("e.g. 1,2"))
        }
    }
}
