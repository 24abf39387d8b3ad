//! Unit tests of [`Route`]: readiness, numbering across restarts and layer switches, counters,
//! sender reports, retransmissions.

use super::*;
use bytes::Bytes;

fn route(kind: MediaKind) -> Route {
    Route::new(RouteOptions {
        source: SourceId(1),
        subscriber: PeerId(2),
        sender: RTCRtpSenderId::default(),
        local_track_id: "TR_v".into(),
        out_ssrc: 4242,
        kind,
        clock_rate: if kind == MediaKind::Video { 90_000 } else { 48_000 },
        layer: 1000,
        vp8: kind == MediaKind::Video,
    })
}

fn ready(kind: MediaKind) -> Route {
    let mut r = route(kind);
    r.mark_offered();
    assert!(r.on_answer(|| Some(96)));
    r
}

fn packet(seq: u16, ts: u32, len: usize) -> Packet {
    let mut p = Packet { payload: Bytes::from(vec![0u8; len]), ..Default::default() };
    p.header.ssrc = 1000;
    p.header.payload_type = 100;
    p.header.sequence_number = seq;
    p.header.timestamp = ts;
    p
}

#[test]
fn readiness_gates_offer_answer_connection_and_keyframe() {
    let mut r = route(MediaKind::Video);
    assert!(!r.on_answer(|| Some(96)), "an answer to an offer without the leg does not count");
    assert_eq!(r.leg_copy(&packet(1, 0, 10), true, true).err(), Some(Withheld::NotReady), "not answered");
    r.mark_offered();
    assert!(r.on_answer(|| Some(96)));
    assert!(!r.on_answer(|| panic!("looked up once")), "answered once");
    assert_eq!(r.awaited_keyframe(), Some(1000));
    assert_eq!(r.leg_copy(&packet(1, 0, 10), false, true).err(), Some(Withheld::NotReady), "not connected");
    assert_eq!(r.leg_copy(&packet(1, 0, 10), true, false).err(), Some(Withheld::KeyframeWait));
    let out = r.leg_copy(&packet(2, 0, 10), true, true).unwrap();
    assert_eq!((out.header.ssrc, out.header.payload_type), (4242, 96), "the leg's SSRC and PT");
    assert_eq!(r.awaited_keyframe(), None);
    assert!(r.leg_copy(&packet(3, 0, 10), true, false).is_ok(), "delta frames flow after the keyframe");
    let mut audio = ready(MediaKind::Audio);
    assert!(audio.leg_copy(&packet(1, 0, 10), true, false).is_ok(), "audio needs no keyframe");
}

#[test]
fn no_payload_type_negotiated_is_not_ready() {
    let mut r = route(MediaKind::Audio);
    r.mark_offered();
    assert!(r.on_answer(|| None));
    assert_eq!(r.leg_copy(&packet(1, 0, 10), true, true).err(), Some(Withheld::NotReady));
}

#[test]
fn restart_continues_numbering_and_advances_time_by_the_pause() {
    let mut r = ready(MediaKind::Audio);
    let t0 = Instant::now();
    let out = r.leg_copy(&packet(10, 1000, 10), true, false).unwrap();
    r.on_sent(t0, &out);
    r.restart(t0 + Duration::from_millis(500));
    // 500 packets withheld meanwhile; the leg continues at 11, 0.5 s (24,000 ticks) later.
    let out = r.leg_copy(&packet(510, 99_000, 10), true, false).unwrap();
    assert_eq!((out.header.sequence_number, out.header.timestamp), (11, 1000 + 24_000));
    assert_eq!(r.leg_copy(&packet(400, 0, 10), true, false).err(), Some(Withheld::Stale), "from before the pause");
    let mut video = ready(MediaKind::Video);
    video.leg_copy(&packet(1, 0, 10), true, true).unwrap();
    video.restart(t0);
    assert_eq!(video.leg_copy(&packet(2, 0, 10), true, false).err(), Some(Withheld::KeyframeWait), "video restarts at a keyframe");
}

#[test]
fn counters_count_what_went_out_and_the_feedback() {
    let mut r = ready(MediaKind::Audio);
    assert_eq!(r.outbound_stats().unwrap(), TrackStats::default());
    let now = Instant::now();
    for seq in 0..3 {
        let out = r.leg_copy(&packet(seq, 0, 100), true, false).unwrap();
        r.on_sent(now, &out);
    }
    r.count_nack();
    let feedback: Vec<Box<dyn rtc::rtcp::Packet>> = vec![
        Box::new(PictureLossIndication::default()),
        Box::new(PictureLossIndication::default()),
        Box::new(FullIntraRequest::default()),
    ];
    assert!(r.count_keyframe_requests(&feedback));
    assert!(!r.count_keyframe_requests(&[]), "no request in an empty compound");
    r.on_reception_report(ReceptionSummary { fraction_lost: 0.5, total_lost: 4, jitter: 4800.0, rtt: Some(Duration::from_millis(20)) });
    let t = r.outbound_stats().unwrap();
    assert_eq!((t.packets, t.bytes, t.nack_count, t.pli_count, t.fir_count), (3, 300, 1, 2, 1));
    assert_eq!((t.packets_lost, t.fraction_lost, t.jitter_s, t.rtt_s), (4, Some(0.5), 0.1, Some(0.02)));
    assert!(route(MediaKind::Audio).outbound_stats().is_none(), "nothing before the answer");
}

#[test]
fn sender_reports_follow_media_and_are_spread() {
    let mut r = ready(MediaKind::Video);
    let t0 = Instant::now();
    assert!(!r.sender_report_due(t0), "no media, no report");
    assert!(r.sender_report(t0, 1, 0.5).is_none());
    let out = r.leg_copy(&packet(5, 9000, 50), true, true).unwrap();
    r.on_sent(t0, &out);
    assert!(r.sender_report_due(t0));
    let sr = r.sender_report(t0 + Duration::from_millis(100), 77, 0.0).unwrap();
    assert_eq!((sr.ssrc, sr.ntp_time, sr.packet_count, sr.octet_count), (4242, 77, 1, 50));
    assert_eq!(sr.rtp_time, 9000 + 9000, "last timestamp + 100 ms at 90 kHz");
    // spread 0.0: the next one is due 0.5 s later
    assert!(!r.sender_report_due(t0 + Duration::from_millis(599)));
    assert!(r.sender_report_due(t0 + Duration::from_millis(600)));
}

#[test]
fn retransmissions_use_the_leg_numbers_of_the_first_send() {
    let mut r = ready(MediaKind::Video);
    let mut history = History::default();
    let t0 = Instant::now();
    for (i, seq) in (100u16..104).enumerate() {
        let p = packet(seq, 3000 * i as u32, 10);
        history.push(&p);
        let out = r.leg_copy(&p, true, true).unwrap();
        r.on_sent(t0, &out);
    }
    r.restart(t0 + Duration::from_secs(1));
    let p = packet(200, 50_000, 10);
    history.push(&p);
    let first = r.leg_copy(&p, true, true).unwrap();
    assert_eq!(first.header.sequence_number, 104, "continues after the restart");
    let (again, _) = r.retransmission(104, &history).expect("in the history, current mapping");
    assert_eq!((again.header.sequence_number, again.header.timestamp), (104, first.header.timestamp));
    assert_eq!(again.header.ssrc, 4242);
    assert!(r.retransmission(102, &history).is_none(), "forwarded under the old mapping");
    assert!(r.retransmission(105, &history).is_none(), "never forwarded");
}

/// A VP8 packet of layer `ssrc` with a 15-bit picture id.
fn vp8(ssrc: u16, seq: u16, ts: u32, pid: u16) -> Packet {
    let mut p = packet(seq, ts, 0);
    p.header.ssrc = u32::from(ssrc);
    p.payload = Bytes::from(vec![0x90, 0x80, 0x80 | (pid >> 8) as u8, pid as u8, 0x00]);
    p
}

fn out(p: &Packet) -> (u16, u32, u16) {
    let pid = (u16::from(p.payload[2] & 0x7f) << 8) | u16::from(p.payload[3]);
    (p.header.sequence_number, p.header.timestamp, pid)
}

#[test]
fn a_layer_switch_is_one_continuous_stream_for_the_receiver() {
    let mut r = ready(MediaKind::Video);
    let t0 = Instant::now();
    let first = r.leg_copy(&vp8(1000, 10, 9_000, 50), true, true).unwrap();
    r.on_sent(t0, &first);
    assert_eq!(out(&first), (10, 9_000, 50));
    let next = r.leg_copy(&vp8(1000, 11, 12_000, 51), true, false).unwrap();
    r.on_sent(t0, &next);
    assert!(r.set_target_layer(3000));
    assert_eq!(r.awaited_keyframe(), Some(3000), "the target layer's keyframe is asked for");
    assert_eq!(r.leg_copy(&vp8(3000, 40_000, 777_000, 9_000), true, false).err(), Some(Withheld::KeyframeWait));
    assert!(r.leg_copy(&vp8(1000, 12, 15_000, 52), true, false).is_ok(), "the old layer flows until then");
    // the target's keyframe, 33 ms after the last packet: everything continues
    let switched = r.leg_copy(&vp8(3000, 40_001, 780_000, 9_001), true, true);
    let switched = switched.unwrap();
    assert_eq!(out(&switched).0, 13, "sequence continues");
    assert_eq!(out(&switched).2, 53, "picture id continues");
    assert!(out(&switched).1 > 15_000 - 3_000, "timestamp moves on: {}", out(&switched).1);
    r.on_sent(t0, &switched);
    assert_eq!(out(&r.leg_copy(&vp8(3000, 40_002, 783_000, 9_002), true, false).unwrap()), (14, out(&switched).1 + 3_000, 54));
    assert_eq!(r.leg_copy(&vp8(1000, 13, 18_000, 53), true, false).err(), Some(Withheld::OtherLayer));
    assert_eq!((r.layer(), r.awaited_keyframe()), ((Some(3000), 3000), None));
}

#[test]
fn a_hidden_leg_sends_nothing_and_restarts_at_a_keyframe() {
    let mut r = ready(MediaKind::Video);
    let now = Instant::now();
    r.leg_copy(&vp8(1000, 1, 0, 1), true, true).unwrap();
    assert!(r.set_hidden(now, true));
    assert!(!r.set_hidden(now, true));
    assert_eq!(r.leg_copy(&vp8(1000, 2, 0, 2), true, true).err(), Some(Withheld::Hidden));
    assert_eq!(r.awaited_keyframe(), None, "no keyframe asked for a hidden tile");
    assert!(r.set_hidden(now, false));
    assert_eq!(r.leg_copy(&vp8(1000, 3, 0, 3), true, false).err(), Some(Withheld::KeyframeWait));
    assert_eq!(out(&r.leg_copy(&vp8(1000, 4, 0, 4), true, true).unwrap()).0, 2, "numbering continues");
}
