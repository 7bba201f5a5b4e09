import Foundation
import Testing

@Suite("The quorum command")
struct CommandLineTests {
    @Test func refusesToRunOnAnOldLibrdkafka() throws {
        let debian = "/usr/lib/x86_64-linux-gnu/librdkafka.so.1"
        try #require(
            FileManager.default.fileExists(atPath: debian), "Debian's librdkafka 2.0.2 is what this test loads")
        // LD_LIBRARY_PATH wins over the binary's run path, so this loads Debian's 2.0.2.
        let (status, output) = try TestStack.runQuorum(
            ["stack", "status"], environment: ["LD_LIBRARY_PATH": "/usr/lib/x86_64-linux-gnu"])
        #expect(status == 1)
        #expect(output.contains("librdkafka 2.0.2 was loaded"))
        #expect(output.contains("ops/setup.sh"))
        #expect(!output.contains("Fatal error"))
    }

    @Test func stackStatusReportsBothServicesAsJSON() throws {
        let (status, output) = try TestStack.runQuorum(["stack", "status", "--json"])
        #expect(status == 0, "the stack should be up during tests: \(output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let postgres = try #require(json["postgres"] as? [String: Any])
        let kafka = try #require(json["kafka"] as? [String: Any])
        #expect(postgres["healthy"] as? Bool == true)
        #expect(kafka["healthy"] as? Bool == true)
    }

    @Test func aMalformedPipelineSpecIsLocatedAndNothingStarts() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(TestStack.unique("spec") + ".yaml")
        try "name: broken\nmodel: { path: m }\nproblems: [ { synthetic: { seed: 1, count: 5 } } ]\nsampling: { k: 1 }\n"
            .write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let (status, output) = try TestStack.runQuorum(["run", file.path])
        #expect(status != 0)
        #expect(output.contains("line 4"))
        #expect(output.contains("sampling.k"))
        #expect(!output.contains("Fatal error"))
    }

    @Test func managerNeedsExactlyOneOfASpecAndAPipelineName() throws {
        let (status, output) = try TestStack.runQuorum(["manager"])
        #expect(status != 0)
        #expect(output.contains("give either a spec file or --pipeline NAME"))
        let (exportStatus, exportOutput) = try TestStack.runQuorum([
            "pairs", "export", "--pipeline", "x", "--round", "1", "--format", "csv",
        ])
        #expect(exportStatus != 0)
        #expect(exportOutput.contains("'csv' is invalid for '--format <format>'"))
        #expect(!exportOutput.contains("Fatal error"))
    }

    @Test func badArgumentsGetAClearMessageAndNoStackTrace() throws {
        let (status, output) = try TestStack.runQuorum(["bench", "kafka", "--messages", "lots"])
        #expect(status != 0)
        #expect(output.contains("--messages"))
        #expect(!output.contains("Fatal error"))
    }

    @Test func everyCommandHasHelp() throws {
        for command in [
            ["stack"], ["stack", "up"], ["migrate"], ["bench"], ["bench", "kafka"], ["bench", "postgres"],
            ["run"], ["manager"], ["worker"], ["sink"], ["status"], ["rounds"], ["pairs", "export"],
            ["task", "sample"], ["train", "sft"], ["eval"], ["quantize"], ["export", "gguf"], ["export", "inspect"],
            ["bench", "sample"], ["pipeline", "list"], ["pipeline", "extend"], ["pipeline", "reset-round"],
            ["pipeline", "delete"],
        ] {
            let (status, output) = try TestStack.runQuorum(command + ["--help"])
            #expect(status == 0)
            #expect(output.contains("USAGE"), "\(command) --help printed: \(output)")
        }
    }

    @Test func modelCommandsSayWhatIsWrongWithTheirInput() throws {
        for command in [
            ["export", "gguf", "--model", "/nonexistent", "--type", "q8_0", "--out", "/tmp/never.gguf"],
            ["quantize", "--model", "/nonexistent", "--format", "w8a8", "--out", "/tmp/never-q"],
            [
                "task", "sample", "--model", "/nonexistent", "--split", "train", "--count", "2", "--k", "2", "--out",
                "/tmp/never.jsonl",
            ],
        ] {
            let (status, output) = try TestStack.runQuorum(command)
            #expect(status != 0)
            #expect(output.contains("/nonexistent"), "\(command) printed: \(output)")
            #expect(!output.contains("Fatal error"))
        }
        let (status, output) = try TestStack.runQuorum(["export", "gguf", "--model", "m", "--type", "q9", "--out", "x"])
        #expect(status != 0 && output.contains("'f32', 'q8_0', 'q4_0' or 'tq2_0'"))
        for (command, message) in [
            (["eval", "--model", "m", "--kv-cache", "fp8"], "'fp8' is invalid for '--kv-cache <kv-cache>'"),
            (["bench", "sample", "--kv-cache", "int8"], "'int8' is invalid for '--kv-cache <kv-cache>'"),
            (["eval", "--model", "m", "--split", "tset"], "'tset' is invalid for '--split <split>'"),
            (["worker", "--pipeline", "p", "--threads", "0"], "--threads must be at least 1"),
        ] {
            let (status, output) = try TestStack.runQuorum(command)
            #expect(status != 0 && output.contains(message), "\(command) printed: \(output)")
        }
    }

    @Test func aTrainedModelExportsToGGUFAndReadsBack() throws {
        let model = TestStack.repositoryRoot.appendingPathComponent("Tests/QuorumIntegrationTests/Fixtures/tiny-arith")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent(TestStack.unique("export") + ".gguf")
        defer { try? FileManager.default.removeItem(at: out) }
        let (status, output) = try TestStack.runQuorum([
            "export", "gguf", "--model", model.path, "--type", "q8_0", "--out", out.path,
        ])
        #expect(status == 0, "export printed: \(output)")
        let (inspectStatus, listing) = try TestStack.runQuorum(["export", "inspect", out.path])
        #expect(inspectStatus == 0)
        #expect(listing.contains("general.architecture = \"llama\""))
        #expect(listing.contains("llama.block_count = 1"))
        #expect(listing.contains("tokenizer.ggml.pre = \"qwen2\""))
        #expect(listing.contains("Q8_0"))
    }
}
