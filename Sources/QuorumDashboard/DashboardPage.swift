/// The dashboard's one page. It fetches `/api/state` every three seconds and draws everything itself
/// as inline SVG: no script or style comes from elsewhere (the machine may have no internet).
enum DashboardPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>Quorum</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
          :root { --ink: #1d2330; --muted: #6b7385; --line: #e3e6ec; --accent: #3b6fd8; --good: #2f9e62; --bad: #cf4b3e; }
          body { font: 14px/1.45 system-ui, sans-serif; color: var(--ink); margin: 0; background: #f6f7f9; }
          header { display: flex; align-items: baseline; gap: 1em; padding: 14px 24px; background: #fff; border-bottom: 1px solid var(--line); }
          header h1 { font-size: 18px; margin: 0; }
          header .muted { color: var(--muted); }
          main { padding: 16px 24px; display: grid; gap: 16px; }
          section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px; }
          h2 { font-size: 16px; margin: 0 0 10px; }
          h3 { font-size: 13px; margin: 12px 0 4px; color: var(--muted); font-weight: 600; }
          table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
          th, td { text-align: right; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
          th:first-child, td:first-child, td.text, th.text { text-align: left; }
          th { color: var(--muted); font-weight: 600; font-size: 12px; }
          .progress { width: 140px; height: 8px; background: var(--line); border-radius: 4px; overflow: hidden; display: inline-block; vertical-align: middle; }
          .progress > div { height: 100%; background: var(--accent); }
          .state-done { color: var(--good); } .state-failed { color: var(--bad); } .state-sampling, .state-training, .state-evaluating { color: var(--accent); }
          .live { color: var(--good); } .dead { color: var(--bad); } .stopped { color: var(--muted); }
          .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 12px; }
          .chart svg { width: 100%; height: auto; }
          .chart .axis { stroke: #b8bec9; } .chart text { font-size: 10px; fill: var(--muted); }
          .empty { color: var(--muted); font-style: italic; }
          code { font-size: 12px; }
        </style>
        </head>
        <body>
        <header><h1>Quorum</h1><span class="muted">as of <span id="generated-at">…</span></span><span id="status" class="muted"></span></header>
        <main id="main"><section class="empty">Loading…</section></main>
        <script>
        "use strict";
        const palette = ["#3b6fd8", "#2f9e62", "#cf4b3e", "#c08a1e", "#7a4fc9", "#1b9aaa", "#d4588f"];
        const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
        const pct = v => v == null ? "–" : (100 * v).toFixed(1) + " %";
        const num = (v, d = 0) => v == null ? "–" : Number(v).toFixed(d);
        const seconds = s => s == null ? "–" : s < 90 ? Math.round(s) + " s" : s < 5400 ? Math.round(s / 60) + " min" : (s / 3600).toFixed(1) + " h";

        // A line chart of series [{name, cls?, points: [[x, y]…]}] as an SVG string; each point is a circle of
        // class "point" and the series' cls.
        function lineChart(series, {width = 360, height = 180, yFormat = v => v, xLabel = "", cls = ""} = {}) {
          const all = series.flatMap(s => s.points);
          if (all.length === 0) return '<p class="empty">nothing yet</p>';
          const pad = {l: 44, r: 10, t: 10, b: 30};
          let [x0, x1] = [Math.min(...all.map(p => p[0])), Math.max(...all.map(p => p[0]))];
          let [y0, y1] = [Math.min(...all.map(p => p[1])), Math.max(...all.map(p => p[1]))];
          if (x0 === x1) { x0 -= 1; x1 += 1; }
          if (y0 === y1) { y0 -= Math.abs(y0) * 0.1 + 0.01; y1 += Math.abs(y1) * 0.1 + 0.01; }
          const sx = x => pad.l + (x - x0) / (x1 - x0) * (width - pad.l - pad.r);
          const sy = y => height - pad.b - (y - y0) / (y1 - y0) * (height - pad.t - pad.b);
          let svg = `<svg class="${cls}" viewBox="0 0 ${width} ${height}" role="img">`;
          svg += `<line class="axis" x1="${pad.l}" y1="${height - pad.b}" x2="${width - pad.r}" y2="${height - pad.b}"/>`;
          svg += `<line class="axis" x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${height - pad.b}"/>`;
          for (const y of [y0, (y0 + y1) / 2, y1]) svg += `<text x="${pad.l - 4}" y="${sy(y) + 3}" text-anchor="end">${esc(yFormat(y))}</text>`;
          for (const x of [x0, x1]) svg += `<text x="${sx(x)}" y="${height - pad.b + 12}" text-anchor="middle">${esc(num(x, Number.isInteger(x) ? 0 : 1))}</text>`;
          if (xLabel) svg += `<text x="${(width + pad.l) / 2}" y="${height - 4}" text-anchor="middle">${esc(xLabel)}</text>`;
          series.forEach((s, i) => {
            const color = palette[i % palette.length];
            if (s.points.length > 1) svg += `<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${s.points.map(p => sx(p[0]) + "," + sy(p[1])).join(" ")}"/>`;
            if (s.points.length <= 60) for (const p of s.points) svg += `<circle class="point ${esc(s.cls ?? "")}" cx="${sx(p[0])}" cy="${sy(p[1])}" r="3" fill="${color}"><title>${esc(s.name)}: ${esc(yFormat(p[1]))}</title></circle>`;
            svg += `<text x="${pad.l + 6 + 90 * (i % 3)}" y="${pad.t + 10 + 12 * Math.floor(i / 3)}" style="fill:${color}">${esc(s.name)}</text>`;
          });
          return svg + "</svg>";
        }

        // Bars of `values` with `labels` under them.
        function barChart(values, labels, {width = 360, height = 160, cls = ""} = {}) {
          if (values.every(v => !v)) return '<p class="empty">nothing yet</p>';
          const pad = {l: 30, r: 6, t: 8, b: 22}, max = Math.max(...values);
          const w = (width - pad.l - pad.r) / values.length;
          let svg = `<svg class="${cls}" viewBox="0 0 ${width} ${height}" role="img">`;
          values.forEach((v, i) => {
            const h = v / max * (height - pad.t - pad.b);
            svg += `<rect x="${pad.l + i * w + 1}" y="${height - pad.b - h}" width="${Math.max(w - 2, 1)}" height="${h}" fill="${palette[0]}"><title>${esc(labels[i])}: ${v}</title></rect>`;
            if (values.length <= 12 || i % Math.ceil(values.length / 8) === 0) svg += `<text x="${pad.l + i * w + w / 2}" y="${height - 8}" text-anchor="middle">${esc(labels[i])}</text>`;
          });
          svg += `<text x="${pad.l - 4}" y="${pad.t + 8}" text-anchor="end">${max}</text>`;
          return svg + "</svg>";
        }

        function pipelineSection(p) {
          const rows = p.rounds.map(r => {
            const done = r.problems ? (r.voted ?? 0) / r.problems : 0;
            return `<tr><td>M${r.round}</td><td class="text state-${esc(r.state)}">${esc(r.state ?? "")}</td>
              <td class="votes">${r.problems ? `<span class="progress" title="${r.voted ?? 0} of ${r.problems} voted"><div style="width:${(100 * done).toFixed(1)}%"></div></span> ${r.voted ?? 0}/${r.problems}` : ""}</td>
              <td>${num(r.pairs)}</td><td>${num(r.mean_weight, 3)}</td><td>${pct(r.chosen_correct)}</td>
              <td>${pct(r.greedy_accuracy)}</td><td>${r.greedy_gain ? (r.greedy_gain.mean >= 0 ? "+" : "") + (100 * r.greedy_gain.mean).toFixed(1) + " ± " + (100 * (r.greedy_gain.standard_error ?? 0)).toFixed(1) : "–"}</td>
              <td>${pct(r.majority_accuracy)}</td><td>${seconds(r.sampling_seconds)}</td><td>${seconds(r.training_seconds)}</td><td>${seconds(r.evaluating_seconds)}</td></tr>`;
          }).join("");
          const sampling = p.rounds.find(r => r.state === "sampling");
          const rate = `${num(p.problems_per_second, 2)} problems/s over the last minute` +
            (sampling ? ` · round ${sampling.round}: ${sampling.problems - sampling.voted} to go` + (p.eta_seconds != null ? `, ETA ${seconds(p.eta_seconds)}` : "") : "");
          const members = p.members.length === 0 ? '<p class="empty">no heartbeats</p>' :
            "<table><tr><th class='text'>role</th><th class='text'>name</th><th class='text'>host</th><th>pid</th><th class='text'>state</th><th>round</th><th>seen</th></tr>" +
            p.members.slice(0, 12).map(m => `<tr><td>${esc(m.role)}</td><td class="text">${esc(m.name)}</td><td class="text">${esc(m.host)}</td><td>${m.pid}</td>
              <td class="text ${esc(m.state)}">${esc(m.state)}</td><td>${num(m.round)}</td><td>${seconds(m.silent_seconds)} ago</td></tr>`).join("") + "</table>";
          const evaluated = p.rounds.filter(r => r.greedy_accuracy != null);
          const accuracy = lineChart([
            {name: "greedy", cls: "greedy", points: evaluated.map(r => [r.round, r.greedy_accuracy])},
            {name: "majority", cls: "majority", points: p.rounds.filter(r => r.majority_accuracy != null).map(r => [r.round, r.majority_accuracy])},
          ].filter(s => s.points.length), {yFormat: pct, xLabel: "model M_n", cls: "accuracy"});
          const throughput = lineChart([{name: "vote records / min", points: p.throughput.map(q => [q.x, q.y])}], {xLabel: "minutes ago", cls: "throughput"});
          const lag = lineChart(p.lag.map(s => ({name: s.name, points: s.points.map(q => [q.x, q.y])})), {xLabel: "minutes ago", cls: "lag"});
          const weights = barChart(p.weight_histogram, p.weight_histogram.map((_, i) => (i / 10).toFixed(1)), {cls: "weights"});
          const loss = lineChart(p.training.map(t => ({name: "M" + t.round, points: t.losses.map((v, i) => [i + 1, v])})), {xLabel: "SCPO step", cls: "loss", yFormat: v => v.toFixed(3)});
          const margin = lineChart(p.training.map(t => ({name: "M" + t.round, points: t.reward_margins.map((v, i) => [i + 1, v])})), {xLabel: "SCPO step", cls: "margin", yFormat: v => v.toFixed(2)});
          return `<section class="pipeline" data-name="${esc(p.name)}"><h2>pipeline ${esc(p.name)}</h2>
            <table class="rounds" id="rounds-${esc(p.name)}"><tr><th class="text">model</th><th class="text">state</th><th class="text">votes</th><th>pairs</th><th>mean w</th><th>chosen ok</th><th>greedy</th><th>vs M0</th><th>maj@k</th><th>sample</th><th>train</th><th>eval</th></tr>${rows}</table>
            <p class="rate muted">${esc(rate)}</p>
            <div class="charts">
              <div class="chart"><h3>held-out accuracy per model</h3>${accuracy}</div>
              <div class="chart"><h3>pair weights (vote margin) of round ${num(p.histogram_round)}</h3>${weights}</div>
              <div class="chart"><h3>throughput, last hour</h3>${throughput}</div>
              <div class="chart"><h3>consumer lag (messages), last hour</h3>${lag}</div>
              <div class="chart"><h3>SCPO loss per step</h3>${loss}</div>
              <div class="chart"><h3>reward margin per step</h3>${margin}</div>
            </div>
            <h3>workers and sink</h3>${members}</section>`;
        }

        function experimentSection(e) {
          const t = e.table, modes = [...new Set(t.rows.map(r => r.mode))];
          const m0 = t.rows.find(r => r.round === 0);
          const series = modes.filter(m => m !== (m0 && m0.mode) || modes.length === 1).map(mode => ({
            name: mode, points: (m0 ? [[0, m0.greedy.mean]] : []).concat(t.rows.filter(r => r.mode === mode && r.round > 0).map(r => [r.round, r.greedy.mean]))}));
          const rows = t.rows.map(r => `<tr><td>${esc(r.mode)}</td><td>M${r.round}</td><td>${pct(r.greedy.mean)}</td><td>${r.greedy.standard_error != null ? "± " + (100 * r.greedy.standard_error).toFixed(1) : "–"}</td><td>${r.greedy.seeds}</td><td>${num(r.pairs)}</td><td>${pct(r.pair_precision)}</td></tr>`).join("");
          return `<section class="experiment"><h2>experiment ${esc(t.experiment)} <span class="muted">(${t.seeds.length} seeds, ${t.problems} held-out problems)</span></h2>
            <div class="charts"><div class="chart"><h3>greedy accuracy per round per mode</h3>${lineChart(series, {yFormat: pct, xLabel: "round", cls: "experiment-accuracy"})}</div>
            <div><table><tr><th class="text">mode</th><th>model</th><th>greedy</th><th>s.e.</th><th>seeds</th><th>pairs</th><th>precision</th></tr>${rows}</table></div></div></section>`;
        }

        function deadLetterSection(letters) {
          if (letters.length === 0) return "";
          return `<section class="dead-letters"><h2>latest dead letters</h2><table><tr><th class="text">when</th><th class="text">topic</th><th>partition</th><th>offset</th><th class="text">reason</th><th class="text">payload</th></tr>` +
            letters.map(d => `<tr><td>${esc(d.stored_at)}</td><td class="text">${esc(d.topic)}</td><td>${d.partition}</td><td>${d.offset}</td><td class="text">${esc(d.reason)}</td><td class="text"><code>${esc(d.payload.slice(0, 80))}</code></td></tr>`).join("") + "</table></section>";
        }

        async function refresh() {
          try {
            const response = await fetch("/api/state", {cache: "no-store"});
            if (!response.ok) throw new Error(await response.text());
            const state = await response.json();
            document.getElementById("generated-at").textContent = state.generated_at;
            document.getElementById("status").textContent = "";
            const parts = state.pipelines.map(pipelineSection).concat(state.experiments.map(experimentSection), [deadLetterSection(state.dead_letters)]);
            document.getElementById("main").innerHTML = parts.join("") || '<section class="empty">No pipelines or experiments yet: <code>quorum run pipelines/arith-demo.yaml</code></section>';
          } catch (error) {
            document.getElementById("status").textContent = "· cannot refresh: " + error.message;
          }
        }
        refresh();
        setInterval(refresh, 3000);
        </script>
        </body>
        </html>
        """#
}
