//! `loadgen churn`: what the server's memory does with participants that stay and participants
//! that come and go.
//!
//! 1. *Idle*: `--idle` participants join one room where nobody publishes and stay; the server's
//!    RSS growth divided by their number is the memory of one idle participant (signalling
//!    session, room state, its two media peers).
//! 2. *Churn*: one publisher sends camera traffic in another room while `--cycles` participants
//!    each join, receive its audio and video, and leave, `--concurrency` at a time. RSS is sampled
//!    every `--sample-every` cycles; after the first sample (allocator and buffers warmed up) a
//!    server that frees what a participant used stays flat.
//!
//! Afterwards the server's own gauges must show only the publisher left (no leaked participant,
//! media peer or session).

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::{json, Value};
use switchboard::auth::Claims;
use tokio::sync::Semaphore;

use switchboard_tests::Window;

use crate::participant::LoadPeer;
use crate::sys;
use crate::traffic::Traffic;

#[derive(Parser, Debug)]
pub struct ChurnArgs {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:7880")]
    url: String,
    #[arg(long, env = "SWITCHBOARD_API_KEY", default_value = "devkey")]
    api_key: String,
    #[arg(long, env = "SWITCHBOARD_API_SECRET", default_value = "secret", hide_env_values = true)]
    api_secret: String,
    /// PID of the server (its RSS is read from /proc).
    #[arg(long)]
    server_pid: u32,
    /// Address the participants' UDP sockets bind to.
    #[arg(long, default_value = "127.0.0.1")]
    local_ip: String,
    /// Participants that join and stay (the idle phase).
    #[arg(long, default_value_t = 100)]
    idle: usize,
    /// Join → receive → leave cycles (the churn phase).
    #[arg(long, default_value_t = 1000)]
    cycles: usize,
    /// Cycles at the same time.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Cycles between RSS samples.
    #[arg(long, default_value_t = 100)]
    sample_every: usize,
    /// Name of the result.
    #[arg(long, default_value = "churn")]
    label: String,
    /// Write the report here as well as to stdout.
    #[arg(long)]
    pub out: Option<String>,
}

fn rss_kib(pid: u32) -> Result<u64> {
    Ok(sys::process_rss_kib(pid)?.0)
}

/// Lets the server finish closing what just left (peers time out, rooms empty) before a sample.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(2)).await;
}

pub async fn run(a: ChurnArgs) -> Result<Value> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).no_proxy().build()?;
    sys::scrape(&http, &a.url).await.with_context(|| format!("is a switchboard running at {}?", a.url))?;
    let tag = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
    let bind_ip: IpAddr = a.local_ip.parse().with_context(|| format!("--local-ip {} is not an IP address", a.local_ip))?;
    let camera = Traffic::camera();
    let config = camera.participant_config(bind_ip, Arc::new(Window::new()));
    let token = |room: &str, identity: &str| {
        Claims::join(&a.api_key, room, identity, None, Duration::from_secs(3600)).sign(&a.api_secret)
    };
    let join = |room: String, identity: String| {
        let (url, token, config) = (a.url.clone(), token(&room, &identity), config.clone());
        async move { LoadPeer::join(&url, &token, &identity, config).await.with_context(|| format!("{identity}: join")) }
    };

    // 1. Idle participants.
    let started = rss_kib(a.server_pid)?;
    let idle_room = format!("churn-idle-{tag}");
    let mut idle = Vec::with_capacity(a.idle);
    for chunk in (0..a.idle).collect::<Vec<_>>().chunks(a.concurrency.max(1)) {
        let joins = chunk.iter().map(|i| tokio::spawn(join(idle_room.clone(), format!("idle-{i}"))));
        for j in joins.collect::<Vec<_>>() {
            idle.push(j.await??);
        }
    }
    settle().await;
    let with_idle = rss_kib(a.server_pid)?;
    let metrics = sys::scrape(&http, &a.url).await?;
    let idle_participants = sys::metric_sum(&metrics, "switchboard_participants");
    for p in idle {
        p.leave().await;
    }
    settle().await;
    let after_idle = rss_kib(a.server_pid)?;
    eprintln!(
        "churn: {} idle participants: RSS {started} -> {with_idle} KiB ({:.0} KiB each), {after_idle} KiB after they left",
        a.idle,
        with_idle.saturating_sub(started) as f64 / a.idle.max(1) as f64
    );

    // 2. Churn around one publisher.
    let room = format!("churn-{tag}");
    let mut anchor = join(room.clone(), "anchor".into()).await?;
    anchor.publish().await.context("anchor: publish")?;
    let done = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sem = Arc::new(Semaphore::new(a.concurrency.max(1)));
    let churn_started = Instant::now();
    let mut samples: Vec<(usize, u64)> = vec![(0, rss_kib(a.server_pid)?)];
    let mut handles = Vec::with_capacity(a.cycles);
    for i in 0..a.cycles {
        let permit = Arc::clone(&sem).acquire_owned().await?;
        let (joining, finished, errors, tracks) = (join(room.clone(), format!("c-{i}")), Arc::clone(&done), Arc::clone(&errors), camera.tracks());
        handles.push(tokio::spawn(async move {
            let cycle = async {
                let p = joining.await?;
                let deadline = Instant::now() + Duration::from_secs(15);
                while p.tracks_receiving() < tracks {
                    if Instant::now() > deadline {
                        let got = p.tracks_receiving();
                        p.leave().await;
                        bail!("c-{i}: received {got} of {tracks} tracks within 15 s");
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                p.leave().await;
                anyhow::Ok(())
            };
            if let Err(e) = cycle.await {
                errors.lock().unwrap().push(format!("{e:#}"));
            }
            finished.fetch_add(1, Ordering::Relaxed);
            drop(permit);
        }));
        // Sample between cycles: wait for the batch to finish so the count is exact.
        if (i + 1) % a.sample_every.max(1) == 0 {
            while done.load(Ordering::Relaxed) < i + 1 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            settle().await;
            let kib = rss_kib(a.server_pid)?;
            eprintln!("churn: {} cycles, RSS {kib} KiB", i + 1);
            samples.push((i + 1, kib));
        }
    }
    for h in handles {
        let _ = h.await;
    }
    let churn_secs = churn_started.elapsed().as_secs_f64();
    anchor.leave().await;
    settle().await;
    let end = sys::scrape(&http, &a.url).await?;
    let errors = errors.lock().unwrap().clone();

    let first_warm = samples.get(1).map_or(samples[0].1, |s| s.1);
    let last = samples.last().map_or(0, |s| s.1);
    let growth = last as i64 - first_warm as i64;
    let cycles_after_warm = a.cycles.saturating_sub(a.sample_every).max(1);
    Ok(json!({
        "scenario": a.label,
        "idle": {
            "participants": a.idle,
            "participants_seen_by_server": idle_participants,
            "rss_kib_before": started,
            "rss_kib_joined": with_idle,
            "rss_kib_after_leaving": after_idle,
            "kib_per_participant": sys::round1(with_idle.saturating_sub(started) as f64 / a.idle.max(1) as f64),
        },
        "churn": {
            "cycles": a.cycles,
            "concurrency": a.concurrency,
            "seconds": sys::round1(churn_secs),
            "cycles_per_s": sys::round1(a.cycles as f64 / churn_secs.max(1e-9)),
            "rss_kib_by_cycle": samples,
            "growth_kib_after_first_sample": growth,
            "growth_bytes_per_cycle_after_first_sample": sys::round1(growth as f64 * 1024.0 / cycles_after_warm as f64),
            "errors": errors.len(),
        },
        "after": {
            "participants": sys::metric_sum(&end, "switchboard_participants"),
            "media_peers": sys::metric_sum(&end, "switchboard_media_peers"),
            "sessions": sys::metric_sum(&end, "switchboard_sessions"),
            "tracks": sys::metric_sum(&end, "switchboard_tracks"),
        },
        "error_count": errors.len(),
        "errors": errors.iter().take(20).collect::<Vec<_>>(),
    }))
}
