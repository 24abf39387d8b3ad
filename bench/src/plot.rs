//! The figure of docs/benchmarks.md (`docs/benchmarks.svg`), drawn from bench/results/*.json as
//! plain SVG: left, server CPU per delivered packet for each scenario, switchboard beside Janus
//! (both over veth); right, the fan-out capacity search, server CPU % of one core against
//! forwarded packets per second, with the point where each stopped meeting loss ≤ 1 % and
//! p99 ≤ 50 ms drawn hollow.

use std::collections::BTreeMap;
use std::fmt::Write;

use anyhow::{Context, Result};
use serde_json::Value;

const SERVERS: [(&str, &str, &str); 2] = [("veth", "switchboard", "#2b6cb0"), ("janus", "Janus 1.1.2", "#c05621")];
const SCENARIOS: [&str; 4] = ["fanout", "webinar", "meetings", "large"];

fn load(results_dir: &str) -> Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(results_dir).with_context(|| format!("reading {results_dir}"))? {
        let path = entry?.path();
        let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else { continue };
        if path.extension().and_then(|e| e.to_str()) == Some("json") {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
                .with_context(|| format!("parsing {}", path.display()))?;
            out.insert(name, v);
        }
    }
    Ok(out)
}

fn f(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer).and_then(Value::as_f64)
}

/// A round axis maximum at or above `max`.
fn nice(max: f64) -> f64 {
    let step = 10f64.powf(max.max(1e-9).log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * step).find(|c| *c >= max).unwrap_or(10.0 * step)
}

fn text(svg: &mut String, x: f64, y: f64, anchor: &str, size: u32, s: &str) {
    let _ = writeln!(svg, r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{size}">{s}</text>"#);
}

/// The SVG document.
pub fn svg(results_dir: &str) -> Result<String> {
    let results = load(results_dir)?;
    let (w, h) = (960.0, 380.0);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" fill="#222">"##
    );
    let _ = writeln!(svg, r#"<rect width="{w}" height="{h}" fill="white"/>"#);

    // Left: CPU µs per delivered packet, grouped bars.
    let (x0, y0, pw, ph) = (60.0, 50.0, 380.0, 260.0);
    text(&mut svg, x0 + pw / 2.0, 24.0, "middle", 15, "Server CPU per delivered packet (µs, lower is better)");
    let bars: Vec<(&str, Vec<Option<f64>>)> = SCENARIOS
        .iter()
        .map(|s| {
            let vals = SERVERS
                .iter()
                .map(|(suffix, _, _)| results.get(&format!("{s}-{suffix}")).and_then(|v| f(v, "/server/cpu_us_per_delivered_packet")))
                .collect();
            (*s, vals)
        })
        .collect();
    let max = nice(bars.iter().flat_map(|(_, v)| v.iter().flatten().copied()).fold(0.0, f64::max));
    axis(&mut svg, x0, y0, pw, ph, max, "");
    let group = pw / SCENARIOS.len() as f64;
    for (i, (scenario, vals)) in bars.iter().enumerate() {
        let gx = x0 + group * i as f64;
        for (j, val) in vals.iter().enumerate() {
            let Some(val) = val else { continue };
            let bw = group * 0.32;
            let x = gx + group * 0.16 + bw * j as f64;
            let bh = ph * val / max;
            let _ = writeln!(svg, r#"<rect x="{x:.1}" y="{:.1}" width="{bw:.1}" height="{bh:.1}" fill="{}"/>"#, y0 + ph - bh, SERVERS[j].2);
            text(&mut svg, x + bw / 2.0, y0 + ph - bh - 4.0, "middle", 11, &format!("{val:.1}"));
        }
        text(&mut svg, gx + group / 2.0, y0 + ph + 18.0, "middle", 12, scenario);
    }

    // Right: capacity search, CPU % against forwarded packets/s.
    let (x1, pw1) = (540.0, 380.0);
    text(&mut svg, x1 + pw1 / 2.0, 24.0, "middle", 15, "Fan-out at 1,000 pkt/s per stream: server CPU");
    let mut series: Vec<Vec<(f64, f64, bool)>> = vec![];
    for (suffix, _, _) in SERVERS {
        let mut points: Vec<(u64, (f64, f64, bool))> = results
            .iter()
            .filter_map(|(name, v)| {
                let n: u64 = name.strip_prefix("fanout-")?.strip_suffix(&format!("-{suffix}"))?.parse().ok()?;
                let pps = f(v, "/delivered_pps")?;
                let cpu = f(v, "/server/cpu_pct")?;
                let ok = f(v, "/loss_pct").is_some_and(|l| l <= 1.0) && f(v, "/latency_ms/p99").is_some_and(|p| p <= 50.0);
                Some((n, (pps / 1000.0, cpu, ok)))
            })
            .collect();
        points.sort_by_key(|p| p.0);
        series.push(points.into_iter().map(|p| p.1).collect());
    }
    let xmax = nice(series.iter().flatten().map(|p| p.0).fold(0.0, f64::max));
    axis(&mut svg, x1, y0, pw1, ph, 100.0, "%");
    for t in 0..=4 {
        let v = xmax * f64::from(t) / 4.0;
        text(&mut svg, x1 + pw1 * f64::from(t) / 4.0, y0 + ph + 18.0, "middle", 11, &format!("{v:.0}k"));
    }
    text(&mut svg, x1 + pw1 / 2.0, y0 + ph + 36.0, "middle", 12, "forwarded packets/s (filled: loss ≤ 1 % and p99 ≤ 50 ms)");
    for (points, (_, _, color)) in series.iter().zip(SERVERS) {
        let xy = |p: &(f64, f64, bool)| (x1 + pw1 * p.0 / xmax, y0 + ph - ph * p.1.min(100.0) / 100.0);
        let path: Vec<String> = points.iter().map(|p| xy(p)).map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = writeln!(svg, r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#, path.join(" "));
        for p in points {
            let (x, y) = xy(p);
            let fill = if p.2 { color } else { "white" };
            let _ = writeln!(svg, r#"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{fill}" stroke="{color}" stroke-width="2"/>"#);
        }
    }

    // Legend.
    for (i, (_, label, color)) in SERVERS.iter().enumerate() {
        let x = 60.0 + 240.0 * i as f64;
        let _ = writeln!(svg, r#"<rect x="{x}" y="{:.1}" width="14" height="14" fill="{color}"/>"#, h - 26.0);
        text(&mut svg, x + 20.0, h - 14.0, "start", 12, &format!("{label} (veth, one core)"));
    }
    svg.push_str("</svg>\n");
    Ok(svg)
}

/// Frame, horizontal grid lines and y labels of a panel whose y axis runs 0..`max`.
fn axis(svg: &mut String, x: f64, y: f64, w: f64, h: f64, max: f64, unit: &str) {
    for t in 0..=4 {
        let gy = y + h - h * f64::from(t) / 4.0;
        let _ = writeln!(svg, r##"<line x1="{x}" y1="{gy:.1}" x2="{:.1}" y2="{gy:.1}" stroke="#ddd"/>"##, x + w);
        text(svg, x - 6.0, gy + 4.0, "end", 11, &format!("{}{unit}", max * f64::from(t) / 4.0));
    }
    let _ = writeln!(svg, r##"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="none" stroke="#888"/>"##);
}

#[cfg(test)]
mod tests {
    use super::nice;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice(23.4), 25.0);
        assert_eq!(nice(81.0), 100.0);
        assert_eq!(nice(9.5), 10.0);
        assert_eq!(nice(0.3), 0.5);
    }
}
