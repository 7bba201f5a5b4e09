import QuorumTraining

extension SFTConfig {
    /// A run that trains in seconds: 4 one-step problems, a 2-layer width-64 model, batch 4, no
    /// periodic evaluation. Tests change what they exercise.
    static func tiny(steps: Int) -> SFTConfig {
        var config = SFTConfig()
        config.trainCount = 4
        config.minSteps = 1
        config.maxSteps = 1
        config.maxNumber = 10
        config.vocabSize = 320
        config.layers = 2
        config.hidden = 64
        config.heads = 4
        config.kvHeads = 2
        config.intermediate = 128
        config.maxPositions = 160
        config.steps = steps
        config.batch = 4
        config.lr = 3e-3
        config.minLR = 3e-4
        config.warmup = min(5, steps)
        config.evalEvery = 0
        config.devCount = 0
        return config
    }
}
