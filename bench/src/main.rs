//! `loadgen`: rooms of synthetic webrtc-rs participants against a running switchboard, and a
//! JSON report of what the server forwarded, what arrived, how late, and what it cost.
//!
//! ```text
//! loadgen run <smoke|webinar|meetings|large|fanout> [--url U] [--api-key K --api-secret S]
//!             [--server-pid PID] [--out FILE] [overrides…]
//! loadgen churn --server-pid PID [--idle 100] [--cycles 1000] [--out FILE]
//! loadgen render --results bench/results --doc docs/benchmarks.md
//! ```
//! `bench/run` is the normal entry point: it builds, isolates and pins everything. See
//! docs/benchmarks.md for what every number means.

mod check;
mod churn;
mod cli;
mod janus;
mod janus_peer;
mod participant;
mod plan;
mod plot;
mod render;
mod subscribers;
mod sys;
mod traffic;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::{json, Value};
use switchboard::auth::Claims;
use tokio::sync::Semaphore;

use cli::{Cli, Command, RunArgs, Server};
use participant::LoadPeer;
use switchboard_tests::hist::Hist;
use switchboard_tests::Window;
use sys::{round1, round2, round3};
use plan::plan;

struct Spec {
    room: usize,
    identity: String,
    publishes: bool,
    /// Binds to the `k`-th shaped address.
    shaped: Option<usize>,
}

struct Joined {
    room: usize,
    shaped: bool,
    peer: LoadPeer,
}

fn hist_ms(h: &Hist) -> Value {
    let q = |p: f64| h.quantile(p).map(|v| round2(v as f64 / 1000.0));
    json!({
        "n": h.count(),
        "mean": (h.count() > 0).then(|| round2(h.mean() / 1000.0)),
        "p50": q(0.5),
        "p99": q(0.99),
        "max": (h.count() > 0).then(|| round2(h.max() as f64 / 1000.0)),
    })
}

async fn run(a: RunArgs) -> Result<Value> {
    let p = plan(&a)?;
    let label = a
        .label
        .clone()
        .unwrap_or_else(|| format!("{:?}", a.scenario).to_lowercase());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()?;
    let janus = match a.server {
        Server::Switchboard => {
            sys::scrape(&http, &a.url)
                .await
                .with_context(|| format!("is a switchboard running at {}?", a.url))?;
            None
        }
        Server::Janus => {
            let api = janus::JanusApi::new(&a.janus_url)?;
            api.info()
                .await
                .with_context(|| format!("is Janus running at {}?", a.janus_url))?;
            Some(api)
        }
    };
    let janus_room_base: u64 = 1_000_000 + u64::from(rand::random::<u16>()) * 100;
    if let Some(api) = &janus {
        for r in 0..p.rooms {
            api.create_room(janus_room_base + r as u64, p.room_size + 10)
                .await?;
        }
    }
    let scrape = |http: reqwest::Client, url: String, on: bool| async move {
        if on {
            sys::scrape(&http, &url).await
        } else {
            Ok(BTreeMap::new())
        }
    };
    let is_sb = janus.is_none();
    // The server's RSS before anyone joins: the baseline of the per-participant figure.
    let rss_start = a.server_pid.map(sys::process_rss_kib).transpose()?;

    let tag = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
    let room_name = |r: usize| format!("bench-{label}-{tag}-{r}");
    let window = Arc::new(Window::new());
    let bind_ip: IpAddr = a
        .local_ip
        .parse()
        .with_context(|| format!("--local-ip {} is not an IP address", a.local_ip))?;
    let config = p.traffic.participant_config(bind_ip, Arc::clone(&window));
    let shaped_ip: IpAddr = a
        .shaped_ip
        .parse()
        .with_context(|| format!("--shaped-ip {} is not an IP address", a.shaped_ip))?;
    let IpAddr::V4(first_shaped) = shaped_ip else {
        bail!("--shaped-ip must be an IPv4 address")
    };
    // The k-th shaped subscriber of a room binds to the k-th address from --shaped-ip.
    let shaped_config = |k: usize| {
        let ip = std::net::Ipv4Addr::from(u32::from(first_shaped).saturating_add(k as u32));
        p.traffic.participant_config(IpAddr::V4(ip), Arc::clone(&window))
    };
    let setup_started = Instant::now();

    // Publishers of every room first, then subscribers.
    let mut specs = vec![];
    for publishes in [true, false] {
        for r in 0..p.rooms {
            let range = if publishes {
                0..p.publishers
            } else {
                p.publishers..p.room_size
            };
            for i in range {
                let first_shaped = p.room_size - p.shaped;
                let shaped = (!publishes && i >= first_shaped).then(|| i - first_shaped);
                let kind = match (publishes, shaped) {
                    (true, _) => "pub",
                    (false, Some(_)) => "shaped",
                    (false, None) => "sub",
                };
                specs.push(Spec {
                    room: r,
                    identity: format!("{kind}{r}-{i}"),
                    publishes,
                    shaped,
                });
            }
        }
    }
    let mut errors: Vec<String> = vec![];
    let mut peers: Vec<Joined> = vec![];
    let sem = Arc::new(Semaphore::new(a.join_concurrency.max(1)));
    for publishes in [true, false] {
        let mut handles = vec![];
        for s in specs.iter().filter(|s| s.publishes == publishes) {
            let token = Claims::join(
                &a.api_key,
                &room_name(s.room),
                &s.identity,
                None,
                Duration::from_secs(3600),
            )
            .sign(&a.api_secret);
            let config = s.shaped.map_or_else(|| config.clone(), shaped_config);
            let (url, identity, room, shaped, sem, janus) = (
                a.url.clone(),
                s.identity.clone(),
                s.room,
                s.shaped.is_some(),
                Arc::clone(&sem),
                janus.clone(),
            );
            handles.push(tokio::spawn(async move {
                let _permit = sem.acquire_owned().await;
                let mut peer = match &janus {
                    None => LoadPeer::join(&url, &token, &identity, config).await,
                    Some(api) => {
                        LoadPeer::join_janus(api, janus_room_base + room as u64, &identity, config)
                            .await
                    }
                }
                .with_context(|| format!("{identity}: join"))?;
                if publishes {
                    peer.publish()
                        .await
                        .with_context(|| format!("{identity}: publish"))?;
                }
                anyhow::Ok(Joined { room, shaped, peer })
            }));
        }
        for h in handles {
            match h.await {
                Ok(Ok(j)) => peers.push(j),
                Ok(Err(e)) => errors.push(format!("{e:#}")),
                Err(e) => errors.push(format!("join task: {e}")),
            }
        }
    }
    // Janus: every participant subscribes to the other publishers of its room.
    if janus.is_some() {
        let peers_arc: Vec<Arc<Joined>> = std::mem::take(&mut peers)
            .into_iter()
            .map(Arc::new)
            .collect();
        let mut handles = vec![];
        for (i, j) in peers_arc.iter().enumerate() {
            let feeds: Vec<String> = peers_arc
                .iter()
                .filter(|o| {
                    o.room == j.room && o.peer.published_at.is_some() && o.peer.sid != j.peer.sid
                })
                .map(|o| o.peer.sid.clone())
                .collect();
            let (j, sem) = (Arc::clone(j), Arc::clone(&sem));
            handles.push(tokio::spawn(async move {
                let _permit = sem.acquire_owned().await;
                (
                    i,
                    j.peer
                        .subscribe_janus(&feeds)
                        .await
                        .with_context(|| format!("{}: subscribe", j.peer.identity)),
                )
            }));
        }
        for h in handles {
            match h.await {
                Ok((_, Ok(()))) => {}
                Ok((_, Err(e))) => errors.push(format!("{e:#}")),
                Err(e) => errors.push(format!("subscribe task: {e}")),
            }
        }
        peers = peers_arc
            .into_iter()
            .map(|j| Arc::try_unwrap(j).map_err(|_| anyhow::anyhow!("peer still shared")))
            .collect::<Result<_>>()?;
    }
    eprintln!(
        "loadgen: {} of {} participants joined in {:.1} s",
        peers.len(),
        specs.len(),
        setup_started.elapsed().as_secs_f64()
    );

    // Wait until every participant receives every track it should.
    let tracks = p.traffic.tracks();
    let publishers_in = |room: usize| {
        peers
            .iter()
            .filter(|j| j.room == room && j.peer.published_at.is_some())
            .count()
    };
    let expected_tracks: Vec<usize> = peers
        .iter()
        .map(|j| (publishers_in(j.room) - usize::from(j.peer.published_at.is_some())) * tracks)
        .collect();
    let deadline = Instant::now() + Duration::from_secs_f64(a.setup_timeout.max(1.0));
    loop {
        let missing = peers
            .iter()
            .zip(&expected_tracks)
            .filter(|(j, e)| j.peer.tracks_receiving() < **e)
            .count();
        if missing == 0 {
            break;
        }
        if Instant::now() >= deadline {
            for (j, e) in peers.iter().zip(&expected_tracks) {
                let got = j.peer.tracks_receiving();
                if got < *e {
                    j.peer
                        .add_error(format!("received {got} of {e} tracks before the window"));
                }
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let setup_secs = setup_started.elapsed().as_secs_f64();
    eprintln!(
        "loadgen: media flowing after {setup_secs:.1} s; warm-up {} s, window {} s",
        p.warmup, p.duration
    );
    tokio::time::sleep(Duration::from_secs_f64(p.warmup)).await;

    // The window.
    let self_pid = std::process::id();
    let m0 = scrape(http.clone(), a.url.clone(), is_sb).await?;
    let s0 = a.server_pid.map(sys::process_cpu_secs).transpose()?;
    let l0 = sys::process_cpu_secs(self_pid)?;
    let c0 = sys::cpu_times();
    let u0 = sys::udp_counters();
    let load0 = sys::loadavg1();
    let t0 = Instant::now();
    window.open(switchboard_tests::media::now_micros());
    tokio::time::sleep(Duration::from_secs_f64(p.duration)).await;
    window.close(switchboard_tests::media::now_micros());
    let secs = t0.elapsed().as_secs_f64();
    let s1 = a.server_pid.map(sys::process_cpu_secs).transpose()?;
    let l1 = sys::process_cpu_secs(self_pid)?;
    let c1 = sys::cpu_times();
    let u1 = sys::udp_counters();
    let m1 = scrape(http.clone(), a.url.clone(), is_sb).await?;
    let load1 = sys::loadavg1();
    let rss = a.server_pid.map(sys::process_rss_kib).transpose()?;
    // Packets stamped inside the window that are still in flight.
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Gather.
    let forwarded = sys::metric_sum(&m1, "switchboard_packets_forwarded_total")
        - sys::metric_sum(&m0, "switchboard_packets_forwarded_total");
    let server_received = sys::metric_sum(&m1, "switchboard_packets_received_total")
        - sys::metric_sum(&m0, "switchboard_packets_received_total");
    let mut latency = Hist::default();
    let mut join = Hist::default();
    let mut publish = Hist::default();
    let mut first_media = Hist::default();
    let mut sent = 0f64;
    let (mut received, mut expected, mut packets_total, mut bad, mut gaps) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut write_errors, mut keyframe_requests, mut duplicates) = (0u64, 0u64, 0u64);
    let published_at: BTreeMap<String, Instant> = peers
        .iter()
        .filter_map(|j| Some((j.peer.sid.clone(), j.peer.published_at?)))
        .collect();
    let mut room_members = vec![0u64; p.rooms];
    let mut room_sent = vec![0u64; p.rooms];
    for j in &peers {
        room_members[j.room] += 1;
        room_sent[j.room] += j.peer.summary().sent_in_window;
    }
    for j in &peers {
        let s = j.peer.summary();
        j.peer.with_measured(|r| {
            latency.merge(&r.latency);
            received += r.in_window;
            packets_total += r.packets;
            bad += r.bad_payloads;
            gaps += r.seq_gap_packets;
            duplicates += r.duplicates;
        });
        expected += s.sent_in_window * room_members[j.room].saturating_sub(1);
        sent += s.sent_in_window as f64;
        write_errors += s.write_errors;
        keyframe_requests += s.keyframe_requests;
        join.record(s.join.as_micros() as u64);
        if let Some(d) = s.publish {
            publish.record(d.as_micros() as u64);
        }
        for (publisher, at) in &s.first_media {
            let base = j.peer.subscribe_started().unwrap_or(j.peer.started);
            let from = published_at.get(publisher).map_or(base, |p| (*p).max(base));
            first_media.record(at.saturating_duration_since(from).as_micros() as u64);
        }
        for e in s.errors {
            errors.push(format!("{}: {e}", j.peer.identity));
        }
    }
    let per_subscriber = subscribers::report(
        peers
            .iter()
            .filter(|j| j.peer.published_at.is_none())
            .map(|j| subscribers::Subscriber {
                peer: &j.peer,
                shaped: j.shaped,
                // What the room's publishers sent in the window (a subscriber publishes nothing).
                offered: room_sent[j.room],
            }),
        secs,
    );
    let error_count = errors.len();
    errors.truncate(50);
    let loss_pct = if expected > 0 {
        100.0 * expected.saturating_sub(received) as f64 / expected as f64
    } else {
        0.0
    };
    let server_cpu = match (s0, s1) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let loadgen_cpu = l1 - l0;
    let udp_delta = |k: &str| {
        u1.get(k)
            .copied()
            .unwrap_or(0)
            .saturating_sub(u0.get(k).copied().unwrap_or(0))
    };

    let report = json!({
        "scenario": label,
        "server_kind": format!("{:?}", a.server).to_lowercase(),
        "local_ip": a.local_ip,
        "note": a.note,
        "unix_time": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        "topology": {
            "rooms": p.rooms,
            "room_size": p.room_size,
            "publishers_per_room": p.publishers,
            "shaped_subscribers_per_room": p.shaped,
            "participants": specs.len(),
            "joined": peers.len(),
        },
        "traffic": p.traffic,
        "offered_pps_per_publisher": p.traffic.pps(),
        "window_s": round2(secs),
        "setup_s": round1(setup_secs),
        "forwarded_pps": is_sb.then(|| round1(forwarded / secs)),
        "delivered_pps": round1(received as f64 / secs),
        "server_received_pps": is_sb.then(|| round1(server_received / secs)),
        "sent_pps": round1(sent / secs),
        "expected_packets": expected,
        "received_packets": received,
        "loss_pct": round3(loss_pct),
        "latency_ms": hist_ms(&latency),
        "join_ms": hist_ms(&join),
        "publish_ms": hist_ms(&publish),
        "first_media_ms": hist_ms(&first_media),
        "server": {
            "pid": a.server_pid,
            "cpu_s": server_cpu.map(round3),
            "cpu_pct": server_cpu.map(|c| round1(100.0 * c / secs)),
            "cpu_us_per_forwarded_packet": server_cpu.filter(|_| forwarded > 0.0).map(|c| round2(c * 1e6 / forwarded)),
            "cpu_us_per_delivered_packet": server_cpu.filter(|_| received > 0).map(|c| round2(c * 1e6 / received as f64)),
            "rss_mb": rss.map(|(r, _)| round1(r as f64 / 1024.0)),
            "peak_rss_mb": rss.map(|(_, h)| round1(h as f64 / 1024.0)),
            // Growth over the empty server, per participant, with media flowing.
            "rss_kib_per_active_participant": rss.zip(rss_start).filter(|_| !peers.is_empty())
                .map(|((end, _), (start, _))| round1(end.saturating_sub(start) as f64 / peers.len() as f64)),
            // Kernel receive timestamp → last copy handed to the kernel (switchboard only).
            "forward_ms": {
                "p50": sys::histogram_quantile(&m0, &m1, "switchboard_media_forward_seconds", 0.5).map(|s| round3(s * 1e3)),
                "p99": sys::histogram_quantile(&m0, &m1, "switchboard_media_forward_seconds", 0.99).map(|s| round3(s * 1e3)),
            },
            "packets_dropped": sys::metric_deltas(&m0, &m1, "switchboard_packets_dropped_total"),
            "nacks": sys::metric_deltas(&m0, &m1, "switchboard_nacks_total"),
            "keyframe_requests": sys::metric_deltas(&m0, &m1, "switchboard_keyframe_requests_total"),
        },
        "loadgen": {
            "cpu_pct": round1(100.0 * loadgen_cpu / secs),
            "packets_received_total": packets_total,
            "seq_gap_packets_total": gaps,
            "duplicates": duplicates,
            "bad_payloads": bad,
            "write_errors": write_errors,
            "keyframe_requests_seen_by_publishers": keyframe_requests,
        },
        "host": {
            "loadavg1_start": load0,
            "loadavg1_end": load1,
            "cpu_busy_pct": sys::cpu_busy_pct(&c0, &c1),
            "udp_rcvbuf_errors": udp_delta("RcvbufErrors"),
            "udp_sndbuf_errors": udp_delta("SndbufErrors"),
            "udp_in_errors": udp_delta("InErrors"),
        },
        "subscribers": per_subscriber,
        "error_count": error_count,
        "errors": errors,
    });

    // Leave politely (bounded).
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        futures_join_all(peers.into_iter().map(|j| j.peer.leave())),
    )
    .await;
    Ok(report)
}

async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(
    futs: impl Iterator<Item = F>,
) {
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    for h in handles {
        let _ = h.await;
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Run(a) => {
            let out = a.out.clone();
            let report = run(*a).await?;
            let text = serde_json::to_string_pretty(&report)?;
            if let Some(path) = out {
                std::fs::write(&path, format!("{text}\n"))
                    .with_context(|| format!("writing {path}"))?;
            }
            println!("{text}");
            // Peer drivers may still be winding down: exit without waiting for them.
            std::process::exit(0);
        }
        Command::Churn(a) => {
            let out = a.out.clone();
            let report = churn::run(*a).await?;
            let text = serde_json::to_string_pretty(&report)?;
            if let Some(path) = out {
                std::fs::write(&path, format!("{text}\n")).with_context(|| format!("writing {path}"))?;
            }
            println!("{text}");
            std::process::exit(i32::from(report["error_count"] != 0));
        }
        Command::Render { results, doc } => render::render(&results, &doc),
        Command::Check {
            report,
            max_loss_pct,
            max_p99_ms,
        } => check::check(&report, max_loss_pct, max_p99_ms),
    }
}
