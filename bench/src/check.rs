//! `loadgen check`: a one-line summary of a report, and whether it shows forwarded packets, no
//! errors, and loss and p99 latency within the limits.

use anyhow::{Context, Result};
use serde_json::Value;

/// Prints the summary; exits 1 when the report fails a check.
pub fn check(report: &str, max_loss_pct: Option<f64>, max_p99_ms: Option<f64>) -> Result<()> {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(&report).with_context(|| format!("reading {report}"))?,
    )
    .with_context(|| format!("parsing {report}"))?;
    let f = |p: &str| v.pointer(p).and_then(Value::as_f64);
    // Janus has no forwarded counter: what the subscribers received stands in.
    let forwarded = f("/forwarded_pps").or(f("/delivered_pps")).unwrap_or(0.0);
    let errors = f("/error_count").unwrap_or(f64::INFINITY);
    let loss = f("/loss_pct").unwrap_or(f64::INFINITY);
    let p99 = f("/latency_ms/p99").unwrap_or(f64::INFINITY);
    let g = |p: &str| f(p).map_or("–".to_owned(), |x| x.to_string());
    eprintln!(
        "{}: forwarded {forwarded} pkt/s, loss {loss} %, latency p50/p99 {}/{} ms (in the server {}/{} ms), \
         server {} us per delivered pkt at {} % CPU, RSS {} MB, join p50/p99 {}/{} ms, \
         loadgen {} % CPU, {errors} errors",
        v["scenario"].as_str().unwrap_or("?"),
        g("/latency_ms/p50"),
        g("/latency_ms/p99"),
        g("/server/forward_ms/p50"),
        g("/server/forward_ms/p99"),
        g("/server/cpu_us_per_delivered_packet"),
        g("/server/cpu_pct"),
        g("/server/rss_mb"),
        g("/join_ms/p50"),
        g("/join_ms/p99"),
        g("/loadgen/cpu_pct"),
    );
    let mut failed = vec![];
    if forwarded <= 0.0 {
        failed.push("nothing forwarded".to_owned());
    }
    if errors != 0.0 {
        failed.push(format!("errors: {}", v["errors"]));
    }
    if max_loss_pct.is_some_and(|m| loss > m) {
        failed.push(format!("loss {loss} % over the limit"));
    }
    if max_p99_ms.is_some_and(|m| p99 > m) {
        failed.push(format!("p99 {p99} ms over the limit"));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        eprintln!("check failed: {}", failed.join("; "));
        std::process::exit(1);
    }
}
