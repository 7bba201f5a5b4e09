import QuorumPipeline
import Testing

/// The round's step logic and the sampling watch, without a database or a broker.
@Suite struct RoundStepsTests {
    @Test func aNewRoundWalksEveryStepToDoneInOrder() {
        var state = RoundState.pending
        var steps: [RoundStep] = []
        while case let step = RoundStep(state), let next = step.nextState {
            #expect(state.canAdvance(to: next), "\(state) → \(next) is not a transition the store allows")
            steps.append(step)
            state = next
        }
        #expect(steps == [.startSampling, .sample, .train, .evaluate])
        #expect(state == .done && RoundStep(state) == .finished)
    }

    @Test func aStoppedRunResumesAtTheStepItStoppedIn() {
        #expect(RoundStep(.sampling) == .sample)
        #expect(RoundStep(.training) == .train)
        #expect(RoundStep(.evaluating) == .evaluate)
        #expect(RoundStep(.done).nextState == nil)
    }

    @Test func aFailedRoundIsRefusedWithItsReasonAndGoesNowhere() {
        let step = RoundStep(.failed, failure: "training: out of memory")
        #expect(step == .refuse(failure: "training: out of memory"))
        #expect(step.nextState == nil)
        #expect(RoundState.allCases.allSatisfy { !RoundState.failed.canAdvance(to: $0) })
    }

    @Test func everyStepCanFailButNoStepSkipsAhead() {
        for state in RoundState.allCases where state != .done && state != .failed {
            #expect(state.canAdvance(to: .failed))
            let skips = RoundState.allCases.filter { $0 != .failed && $0 != RoundStep(state).nextState }
            #expect(skips.allSatisfy { !state.canAdvance(to: $0) }, "\(state) may skip ahead")
        }
    }

    @Test func theWatchRepublishesOnlyAfterQuietTimeAndStopsWhenAllVoted() {
        let start = ContinuousClock.now
        var watch = SamplingWatch(republishAfter: .seconds(60), now: start)
        #expect(watch.observe(voted: 0, problems: 10, now: start) == (.wait, true))
        #expect(watch.observe(voted: 4, problems: 10, now: start + .seconds(30)) == (.wait, true))
        // Quiet, but not for long enough yet.
        #expect(watch.observe(voted: 4, problems: 10, now: start + .seconds(89)) == (.wait, false))
        #expect(watch.observe(voted: 4, problems: 10, now: start + .seconds(91)) == (.republish, false))
        // Re-publishing restarts the quiet time.
        #expect(watch.observe(voted: 4, problems: 10, now: start + .seconds(120)) == (.wait, false))
        #expect(watch.observe(voted: 4, problems: 10, now: start + .seconds(152)) == (.republish, false))
        #expect(watch.observe(voted: 10, problems: 10, now: start + .seconds(153)) == (.complete, true))
    }
}
