public import ArgumentParser
public import GGUF
public import QuorumServing
public import QuorumTasks
public import QuorumVoting
public import SCPO

// Options that name a choice are enums: an unknown value is an error that lists the valid ones,
// never a silent default.
extension ServingFormat: ExpressibleByArgument {}
extension SCPOMode: ExpressibleByArgument {}
extension PairSelection.Mode: ExpressibleByArgument {}
extension LlamaGGUF.ExportType: ExpressibleByArgument {}
extension KVPrecision: ExpressibleByArgument {}
extension DataSplit: ExpressibleByArgument {}
