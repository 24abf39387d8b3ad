//! What a `loadgen run` does: the scenario's topology and traffic, with the command line's
//! overrides applied and checked.

use anyhow::{bail, Result};
use switchboard_tests::Pacing;

use crate::cli::{RunArgs, Scenario};
use crate::traffic::Traffic;

pub(crate) struct Plan {
    pub(crate) rooms: usize,
    pub(crate) room_size: usize,
    pub(crate) publishers: usize,
    pub(crate) traffic: Traffic,
    pub(crate) duration: f64,
    pub(crate) warmup: f64,
    /// Subscribers per room on the shaped addresses (the last ones).
    pub(crate) shaped: usize,
}

pub(crate) fn plan(a: &RunArgs) -> Result<Plan> {
    let camera = Traffic::camera();
    let (rooms, room_size, publishers, mut traffic, duration, warmup) = match a.scenario {
        Scenario::Smoke => (1, 3, 3, camera, 5.0, 1.0),
        Scenario::Webinar => (1, 51, 1, camera, 20.0, 3.0),
        Scenario::Meetings => (10, 4, 4, camera, 20.0, 3.0),
        Scenario::Large => (1, 20, 20, camera, 20.0, 3.0),
        Scenario::Fanout => (
            1,
            11,
            1,
            Traffic {
                audio: false,
                video_pps: 1000,
                video_packets_per_frame: 10,
                pacing: Pacing::Even,
                ..camera
            },
            20.0,
            3.0,
        ),
        // Warm-up long enough for the shaped subscribers' estimates to settle.
        Scenario::Shaped => (1, 8, 2, camera, 20.0, 10.0),
    };
    let rooms = a.rooms.unwrap_or(rooms);
    let publishers = a.publishers.unwrap_or(publishers);
    let room_size = match a.subscribers {
        Some(s) => publishers + s,
        None => a.room_size.unwrap_or(room_size),
    };
    if a.no_audio {
        traffic.audio = false;
    }
    if a.no_video {
        traffic.video = false;
    }
    if let Some(v) = a.video_pps {
        traffic.video_pps = v;
    }
    if let Some(v) = a.packets_per_frame {
        traffic.video_packets_per_frame = v;
    }
    if let Some(v) = a.video_bytes {
        traffic.video_payload_bytes = v;
    }
    if let Some(p) = a.pacing {
        traffic.pacing = p;
    }
    if publishers > room_size || rooms == 0 || room_size < 2 {
        bail!("need rooms ≥ 1, room size ≥ 2 and publishers ≤ room size");
    }
    let shaped = a.shaped.unwrap_or(if a.scenario == Scenario::Shaped { 3 } else { 0 });
    if shaped > 16 {
        bail!("--shaped {shaped}: bench/run shapes at most 16 addresses (127.0.0.3 … 127.0.0.18)");
    }
    if shaped > room_size - publishers {
        bail!("--shaped {shaped} is more than the {} subscribers per room", room_size - publishers);
    }
    if publishers > 0 && traffic.tracks() == 0 {
        bail!("publishers need at least one track");
    }
    Ok(Plan {
        rooms,
        room_size,
        publishers,
        traffic,
        duration: a.duration.unwrap_or(duration),
        warmup: a.warmup.unwrap_or(warmup),
        shaped,
    })
}
