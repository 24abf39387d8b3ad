//! The command line of `loadgen`: subcommands, scenarios and the overrides of a run.

use clap::{Parser, Subcommand, ValueEnum};

use switchboard_tests::Pacing;

use crate::churn;

#[derive(Parser)]
#[command(name = "loadgen", about = "Switchboard load generator and benchmark")]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run a scenario against a running server and print (and optionally write) the report.
    Run(Box<RunArgs>),
    /// Memory per idle participant, and memory across join/receive/leave cycles (see churn.rs).
    Churn(Box<churn::ChurnArgs>),
    /// Print a one-line summary of a report and exit 1 unless it shows forwarded packets, no
    /// errors, and (when given) loss and p99 latency within the limits.
    Check {
        report: String,
        #[arg(long)]
        max_loss_pct: Option<f64>,
        #[arg(long)]
        max_p99_ms: Option<f64>,
    },
    /// Render the results table of docs/benchmarks.md from bench/results/*.json.
    Render {
        #[arg(long, default_value = "bench/results")]
        results: String,
        #[arg(long, default_value = "docs/benchmarks.md")]
        doc: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Scenario {
    /// 1 room of 3, all publishing, 5 s (a functional check, not a measurement).
    Smoke,
    /// 1 room: 1 publisher, 50 subscribers.
    Webinar,
    /// 10 rooms of 4, all publishing.
    Meetings,
    /// 1 room of 20, all publishing.
    Large,
    /// 1 room: 1 publisher of one video stream at 1,000 packets/s evenly paced, N subscribers
    /// (`--subscribers`, default 10). The capacity search steps N.
    Fanout,
    /// 1 room: 2 camera publishers, 3 subscribers on an unshaped link and 3 (`--shaped`) whose
    /// sockets bind to `--shaped-ip` and the addresses after it, where `bench/run shaped`
    /// limits each one's downlink (`BENCH_SHAPED_KBPS`, default 1 Mbit/s). The report lists
    /// every subscriber's received rate and loss.
    Shaped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Server {
    Switchboard,
    /// Janus VideoRoom (HTTP API at --janus-url), for side-by-side numbers.
    Janus,
}

#[derive(Parser, Debug)]
pub(crate) struct RunArgs {
    pub(crate) scenario: Scenario,
    /// Which SFU is under test.
    #[arg(long, value_enum, default_value = "switchboard")]
    pub(crate) server: Server,
    /// Janus HTTP API base.
    #[arg(long, default_value = "http://127.0.0.1:8088/janus")]
    pub(crate) janus_url: String,
    /// Address the participants' UDP sockets bind to.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) local_ip: String,
    /// Server base URL (HTTP; the WebSocket and /metrics are derived from it).
    #[arg(long, default_value = "http://127.0.0.1:7880")]
    pub(crate) url: String,
    #[arg(long, env = "SWITCHBOARD_API_KEY", default_value = "devkey")]
    pub(crate) api_key: String,
    #[arg(
        long,
        env = "SWITCHBOARD_API_SECRET",
        default_value = "secret",
        hide_env_values = true
    )]
    pub(crate) api_secret: String,
    /// PID of the server process, for CPU time and RSS (`/proc/<pid>`). Without it those fields
    /// are null.
    #[arg(long)]
    pub(crate) server_pid: Option<u32>,
    /// Write the report here as well as to stdout.
    #[arg(long)]
    pub(crate) out: Option<String>,
    /// Free text kept in the report (`bench/run` records server tuning and `chrt` here).
    #[arg(long, default_value = "")]
    pub(crate) note: String,
    /// Name of the result (defaults to the scenario name).
    #[arg(long)]
    pub(crate) label: Option<String>,
    /// Measurement window, seconds (scenario default: 5 for smoke, 20 otherwise).
    #[arg(long)]
    pub(crate) duration: Option<f64>,
    /// Media flowing before the window opens, seconds.
    #[arg(long)]
    pub(crate) warmup: Option<f64>,
    /// Rooms (overrides the scenario).
    #[arg(long)]
    pub(crate) rooms: Option<usize>,
    /// Participants per room (overrides the scenario).
    #[arg(long)]
    pub(crate) room_size: Option<usize>,
    /// Publishers per room (overrides the scenario); the others only subscribe.
    #[arg(long)]
    pub(crate) publishers: Option<usize>,
    /// Subscribers per room: room size = publishers + subscribers (overrides --room-size).
    #[arg(long)]
    pub(crate) subscribers: Option<usize>,
    #[arg(long)]
    pub(crate) no_audio: bool,
    #[arg(long)]
    pub(crate) no_video: bool,
    /// Video packets per second per publisher.
    #[arg(long)]
    pub(crate) video_pps: Option<u32>,
    #[arg(long)]
    pub(crate) packets_per_frame: Option<u32>,
    #[arg(long)]
    pub(crate) video_bytes: Option<usize>,
    /// How video packets are spaced: `frames` (each frame's packets back to back) or `even`.
    #[arg(long)]
    pub(crate) pacing: Option<Pacing>,
    /// Subscribers whose sockets bind to `--shaped-ip` (scenario `shaped`: 3 of the subscribers).
    #[arg(long)]
    pub(crate) shaped: Option<usize>,
    /// Address of the first shaped subscriber; the next ones take the following addresses
    /// (`bench/run shaped` gives each of 127.0.0.3 … 127.0.0.18 a link of its own).
    #[arg(long, default_value = "127.0.0.3")]
    pub(crate) shaped_ip: String,
    /// Participants joining at the same time.
    #[arg(long, default_value_t = 8)]
    pub(crate) join_concurrency: usize,
    /// How long every subscriber may take to receive every expected track, seconds.
    #[arg(long, default_value_t = 30.0)]
    pub(crate) setup_timeout: f64,
}
