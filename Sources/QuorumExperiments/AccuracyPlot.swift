import Foundation
import QuorumPipeline

extension ExperimentTable {
    /// Greedy accuracy per round, one line per mode (all starting at the shared M0), with ±1
    /// standard-error bars, as a standalone SVG document.
    public var svg: String {
        let width = 640.0
        let height = 400.0
        let (left, right, top, bottom) = (60.0, 170.0, 40.0, 50.0)
        let seedRow = rows.first { $0.round == 0 }
        let modes = rows.filter { $0.round > 0 }.map(\.mode).reduce(into: [String]()) {
            if !$0.contains($1) { $0.append($1) }
        }
        let rounds = max(1, rows.map(\.round).max() ?? 1)
        let values = rows.flatMap { row -> [Double] in
            let se = row.greedy.standardError ?? 0
            return [row.greedy.mean - se, row.greedy.mean + se]
        }
        var low = ((values.min() ?? 0) * 100 / 5).rounded(.down) * 5
        var high = ((values.max() ?? 1) * 100 / 5).rounded(.up) * 5
        if high - low < 10 { (low, high) = (low - 5, high + 5) }
        let x = { (round: Int) in left + Double(round) / Double(rounds) * (width - left - right) }
        let y = { (accuracy: Double) in top + (1 - (accuracy * 100 - low) / (high - low)) * (height - top - bottom) }
        let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="22" font-size="14">\(experiment): greedy accuracy on \(problems) held-out problems \
            (\(seeds.count) seed\(seeds.count == 1 ? "" : "s"))</text>

            """
        var tick = low
        while tick <= high + 1e-9 {
            let ty = y(tick / 100)
            svg += "<line x1=\"\(left)\" y1=\"\(f(ty))\" x2=\"\(f(width - right))\" y2=\"\(f(ty))\" stroke=\"#ddd\"/>\n"
            svg += "<text x=\"\(f(left - 8))\" y=\"\(f(ty + 4))\" text-anchor=\"end\">\(Int(tick)) %</text>\n"
            tick += (high - low) > 30 ? 10 : 5
        }
        for round in 0...rounds {
            svg += "<text x=\"\(f(x(round)))\" y=\"\(f(height - bottom + 20))\" text-anchor=\"middle\">M\(round)</text>\n"
        }
        for (index, mode) in modes.enumerated() {
            let color = palette[index % palette.count]
            var points: [(Int, Estimate)] = seedRow.map { [(0, $0.greedy)] } ?? []
            points += rows.filter { $0.mode == mode && $0.round > 0 }.map { ($0.round, $0.greedy) }
            let path = points.map { "\(f(x($0.0))),\(f(y($0.1.mean)))" }.joined(separator: " ")
            svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            for (round, estimate) in points {
                let px = x(round) + Double(index - modes.count / 2) * 3
                if let se = estimate.standardError {
                    svg += "<line x1=\"\(f(px))\" y1=\"\(f(y(estimate.mean - se)))\" x2=\"\(f(px))\" "
                    svg += "y2=\"\(f(y(estimate.mean + se)))\" stroke=\"\(color)\"/>\n"
                }
                svg += "<circle cx=\"\(f(x(round)))\" cy=\"\(f(y(estimate.mean)))\" r=\"3.5\" fill=\"\(color)\"/>\n"
            }
            let ly = top + 20 + Double(index) * 20
            svg += "<line x1=\"\(f(width - right + 15))\" y1=\"\(f(ly - 4))\" x2=\"\(f(width - right + 40))\" "
            svg += "y2=\"\(f(ly - 4))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            svg += "<text x=\"\(f(width - right + 46))\" y=\"\(f(ly))\">\(mode)</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }
}

/// A coordinate with one decimal.
private func f(_ value: Double) -> String { String(format: "%.1f", value) }
