//! The results table of docs/benchmarks.md, rendered from bench/results/*.json between the
//! markers `<!-- results:begin -->` and `<!-- results:end -->` (appended when missing), and the
//! figure beside it (`docs/benchmarks.svg`, see plot.rs).

use anyhow::{Context, Result};
use serde_json::Value;

const BEGIN: &str = "<!-- results:begin -->";
const END: &str = "<!-- results:end -->";

/// Sort key: scenario (known ones first), then a numeric part (fanout-40), then the plain run,
/// the veth run and the Janus run next to each other.
fn order(name: &str) -> (usize, String, u64, usize, String) {
    let parts: Vec<&str> = name.split('-').collect();
    let base = parts[0];
    let rank = ["smoke", "webinar", "meetings", "large", "fanout"]
        .iter()
        .position(|s| *s == base)
        .unwrap_or(5);
    let n = parts.iter().find_map(|p| p.parse::<u64>().ok()).unwrap_or(0);
    let server = if parts.contains(&"janus") {
        2
    } else if parts.contains(&"veth") {
        1
    } else {
        0
    };
    (rank, base.to_owned(), n, server, name.to_owned())
}

fn num(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(x) => cur = x,
            None => return "–".into(),
        }
    }
    match cur {
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", f as i64)
            } else {
                format!("{f}")
            }
        }
        Value::Null => "–".into(),
        other => other.to_string(),
    }
}

fn topology(v: &Value) -> String {
    let rooms = num(v, &["topology", "rooms"]);
    let size = num(v, &["topology", "room_size"]);
    let pubs = num(v, &["topology", "publishers_per_room"]);
    let t = &v["traffic"];
    let mut media = vec![];
    if t["audio"].as_bool() == Some(true) {
        media.push("A 50".to_owned());
    }
    if t["video"].as_bool() == Some(true) {
        media.push(format!(
            "V {} {}",
            num(t, &["video_pps"]),
            t["pacing"].as_str().unwrap_or("")
        ));
    }
    format!("{rooms}×{size} ({pubs} pub) · {} pkt/s", media.join(" + "))
}

/// One markdown table of every result file.
pub fn table(results_dir: &str) -> Result<String> {
    let mut rows = vec![];
    for entry in std::fs::read_dir(results_dir).with_context(|| format!("reading {results_dir}"))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
            .with_context(|| format!("parsing {}", path.display()))?;
        if v.get("churn").is_some() {
            continue; // a memory report (loadgen churn), quoted in the prose instead
        }
        let name = v["scenario"].as_str().unwrap_or("?").to_owned();
        rows.push((order(&name), v));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    out.push_str("| result | server (net) | rooms×size, media per publisher | forwarded pkt/s | delivered pkt/s | loss % | latency p50 / p99 ms | server CPU µs per delivered pkt | server CPU % | RSS MB | join p50 / p99 ms | errors | loadgen CPU % | load avg (cpu0 / cpu1 busy %) |\n");
    out.push_str("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
    for ((_, _, _, _, name), v) in &rows {
        if name == "smoke" {
            continue;
        }
        let busy = &v["host"]["cpu_busy_pct"];
        let net = if v["local_ip"]
            .as_str()
            .unwrap_or("127.0.0.1")
            .starts_with("127.")
        {
            "lo"
        } else {
            "veth"
        };
        out.push_str(&format!(
            "| {name} | {} ({net}) | {} | {} | {} | {} | {} / {} | {} | {} | {} | {} / {} | {} | {} | {} ({} / {}) |\n",
            v["server_kind"].as_str().unwrap_or("switchboard"),
            topology(v),
            num(v, &["forwarded_pps"]),
            num(v, &["delivered_pps"]),
            num(v, &["loss_pct"]),
            num(v, &["latency_ms", "p50"]),
            num(v, &["latency_ms", "p99"]),
            num(v, &["server", "cpu_us_per_delivered_packet"]),
            num(v, &["server", "cpu_pct"]),
            num(v, &["server", "rss_mb"]),
            num(v, &["join_ms", "p50"]),
            num(v, &["join_ms", "p99"]),
            num(v, &["error_count"]),
            num(v, &["loadgen", "cpu_pct"]),
            num(v, &["host", "loadavg1_start"]),
            num(busy, &["cpu0"]),
            num(busy, &["cpu1"]),
        ));
    }
    Ok(out)
}

/// Replaces the marked section of `doc` with the table (appends the section when absent).
pub fn render(results_dir: &str, doc: &str) -> Result<()> {
    let table = table(results_dir)?;
    let text = std::fs::read_to_string(doc).unwrap_or_default();
    let section = format!("{BEGIN}\n{table}{END}");
    let new = match (text.find(BEGIN), text.find(END)) {
        (Some(b), Some(e)) if e > b => format!("{}{section}{}", &text[..b], &text[e + END.len()..]),
        _ => format!("{text}\n{section}\n"),
    };
    std::fs::write(doc, new).with_context(|| format!("writing {doc}"))?;
    // The figure lives next to the document, as `<doc stem>.svg`.
    let figure = std::path::Path::new(doc).with_extension("svg");
    std::fs::write(&figure, crate::plot::svg(results_dir)?).with_context(|| format!("writing {}", figure.display()))?;
    Ok(())
}
