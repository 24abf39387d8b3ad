//! What the benchmark reads from the system: a process's CPU time and memory (`/proc/<pid>/…`),
//! per-CPU busy time of the host (`/proc/stat`), the load average, the network namespace's UDP
//! counters (`/proc/net/snmp`) and the server's Prometheus text (`/metrics`).

use std::collections::BTreeMap;

use anyhow::{Context, Result};

/// Clock ticks per second of `/proc/<pid>/stat` times (`_SC_CLK_TCK`; 100 on Linux x86-64).
const CLK_TCK: f64 = 100.0;

/// CPU seconds (user + system) a process has used so far.
pub fn process_cpu_secs(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces; fields after the closing parenthesis.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("malformed /proc/<pid>/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    let utime: f64 = fields.get(11).context("no utime")?.parse()?;
    let stime: f64 = fields.get(12).context("no stime")?.parse()?;
    Ok((utime + stime) / CLK_TCK)
}

/// `VmRSS` and `VmHWM` (peak) of a process, in KiB.
pub fn process_rss_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}

/// Busy and total jiffies per CPU (`cpu0`, `cpu1`, …) from `/proc/stat` (host-wide).
pub fn cpu_times() -> BTreeMap<String, (u64, u64)> {
    let mut out = BTreeMap::new();
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return out;
    };
    for line in stat.lines() {
        let mut it = line.split_whitespace();
        let Some(name) = it.next() else { continue };
        if !name.starts_with("cpu") || name == "cpu" {
            continue;
        }
        let v: Vec<u64> = it.filter_map(|x| x.parse().ok()).collect();
        if v.len() < 5 {
            continue;
        }
        let total: u64 = v.iter().take(8).sum();
        let idle = v[3] + v[4]; // idle + iowait
        out.insert(name.to_owned(), (total - idle, total));
    }
    out
}

/// Busy share (%) per CPU between two [`cpu_times`] readings.
pub fn cpu_busy_pct(
    a: &BTreeMap<String, (u64, u64)>,
    b: &BTreeMap<String, (u64, u64)>,
) -> BTreeMap<String, f64> {
    b.iter()
        .filter_map(|(k, (busy1, total1))| {
            let (busy0, total0) = a.get(k)?;
            let dt = total1.saturating_sub(*total0);
            (dt > 0).then(|| {
                (
                    k.clone(),
                    round1(100.0 * busy1.saturating_sub(*busy0) as f64 / dt as f64),
                )
            })
        })
        .collect()
}

/// The 1-minute load average.
pub fn loadavg1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// `Udp:` counters of this network namespace (`InDatagrams`, `RcvbufErrors`, …).
pub fn udp_counters() -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Ok(snmp) = std::fs::read_to_string("/proc/net/snmp") else {
        return out;
    };
    let lines: Vec<&str> = snmp.lines().filter(|l| l.starts_with("Udp:")).collect();
    if lines.len() >= 2 {
        for (k, v) in lines[0]
            .split_whitespace()
            .skip(1)
            .zip(lines[1].split_whitespace().skip(1))
        {
            if let Ok(v) = v.parse() {
                out.insert(k.to_owned(), v);
            }
        }
    }
    out
}

/// Prometheus text parsed into `name{labels}` → value (comments skipped).
pub fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some((key, value)) = line.rsplit_once(' ') {
            if let Ok(v) = value.trim().parse::<f64>() {
                out.insert(key.trim().to_owned(), v);
            }
        }
    }
    out
}

/// Scrapes `GET {base}/metrics`.
pub async fn scrape(client: &reqwest::Client, base: &str) -> Result<BTreeMap<String, f64>> {
    let url = format!("{}/metrics", base.trim_end_matches('/'));
    let text = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?
        .error_for_status()?
        .text()
        .await?;
    Ok(parse_prometheus(&text))
}

/// Sum of every series of metric `name` (all label sets), or 0.
pub fn metric_sum(m: &BTreeMap<String, f64>, name: &str) -> f64 {
    m.iter()
        .filter(|(k, _)| k.as_str() == name || k.starts_with(&format!("{name}{{")))
        .map(|(_, v)| v)
        .sum()
}

/// Per-series difference `b - a` of the series of `name` (labels kept), zero deltas skipped.
pub fn metric_deltas(
    a: &BTreeMap<String, f64>,
    b: &BTreeMap<String, f64>,
    name: &str,
) -> BTreeMap<String, f64> {
    b.iter()
        .filter(|(k, _)| k.as_str() == name || k.starts_with(&format!("{name}{{")))
        .filter_map(|(k, v)| {
            let d = v - a.get(k).copied().unwrap_or(0.0);
            (d != 0.0).then(|| (k.clone(), d))
        })
        .collect()
}

/// Quantile `q` (0–1) of the Prometheus histogram `name` over the window `a` → `b`, in its
/// buckets' unit, interpolated linearly inside the bucket it falls in (as PromQL's
/// `histogram_quantile`); `None` without observations in the window.
pub fn histogram_quantile(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>, name: &str, q: f64) -> Option<f64> {
    let prefix = format!("{name}_bucket{{le=\"");
    let mut buckets: Vec<(f64, f64)> = b
        .iter()
        .filter_map(|(k, v)| {
            let le = k.strip_prefix(&prefix)?.strip_suffix("\"}")?;
            let bound = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
            Some((bound, v - a.get(k).copied().unwrap_or(0.0)))
        })
        .collect();
    buckets.sort_by(|x, y| x.0.total_cmp(&y.0));
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let (mut lower, mut below) = (0.0, 0.0);
    for (bound, count) in buckets {
        if count >= rank {
            if bound.is_infinite() {
                return Some(lower);
            }
            let within = if count > below { (rank - below) / (count - below) } else { 0.0 };
            return Some(lower + (bound - lower) * within);
        }
        (lower, below) = (bound, count);
    }
    None
}

pub fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

pub fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text() {
        let m = parse_prometheus(
            "# HELP x y\n# TYPE x counter\nswitchboard_packets_forwarded_total 1234\n\
             switchboard_packets_dropped_total{reason=\"send_buffer\"} 5\n\
             switchboard_packets_dropped_total{reason=\"no_route\"} 2\n",
        );
        assert_eq!(
            metric_sum(&m, "switchboard_packets_forwarded_total"),
            1234.0
        );
        assert_eq!(metric_sum(&m, "switchboard_packets_dropped_total"), 7.0);
        assert_eq!(metric_sum(&m, "switchboard_packets"), 0.0);
    }

    #[test]
    fn histogram_quantiles_over_a_window() {
        let h = |c: [f64; 4]| {
            parse_prometheus(&format!(
                "h_bucket{{le=\"0.001\"}} {}\nh_bucket{{le=\"0.002\"}} {}\nh_bucket{{le=\"0.005\"}} {}\nh_bucket{{le=\"+Inf\"}} {}\n",
                c[0], c[1], c[2], c[3]
            ))
        };
        let (a, b) = (h([10.0, 10.0, 10.0, 10.0]), h([60.0, 110.0, 110.0, 110.0]));
        // 100 observations in the window: 50 ≤ 1 ms, 50 in (1, 2] ms.
        assert_eq!(histogram_quantile(&a, &b, "h", 0.5), Some(0.001));
        let p99 = histogram_quantile(&a, &b, "h", 0.99).unwrap();
        assert!((p99 - 0.00198).abs() < 1e-9, "{p99}");
        assert_eq!(histogram_quantile(&a, &a, "h", 0.5), None, "nothing observed");
    }

    #[test]
    fn own_process_readings() {
        let pid = std::process::id();
        assert!(process_cpu_secs(pid).unwrap() >= 0.0);
        assert!(process_rss_kib(pid).unwrap().0 > 0);
        assert!(!cpu_times().is_empty());
    }
}
