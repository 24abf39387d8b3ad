//! Bandwidth allocation: how one subscriber's estimated downlink is shared across the videos it
//! receives. Audio is taken off the top and never paused; then every video gets its lowest
//! layer, in priority order, as long as one fits (a video for which none fits is paused, not
//! starved packet by packet); then the videos climb one layer at a time, round-robin in
//! priority order, while the budget lasts. Pure arithmetic over stated costs: the shard's
//! `adapt.rs` feeds it measured layer rates and applies the result.

use crate::bwe::DECREASE_FACTOR;

/// Going above the layer a video has now needs this much headroom over the layer's cost (so a
/// budget hovering at a layer's cost does not make it flap).
pub(crate) const UPGRADE_HEADROOM: f64 = 1.15;

/// A video keeps a layer it has while the budget covers this share of the layer's cost. The
/// estimator backs off to [`DECREASE_FACTOR`] × what arrived, so a layer stays exactly when the
/// link still delivered its rate: after an upgrade that did not fit, the video that flowed fine
/// before the attempt is kept (with a budget of 1.0 × cost it would be taken down too).
pub(crate) const KEEP_FACTOR: f64 = DECREASE_FACTOR;

/// One video a subscriber receives.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Demand {
    /// Larger first: the priority (e.g. the area the subscriber shows it at).
    pub(crate) priority: u64,
    /// Bit/s of each layer it may take, lowest first (at least one).
    pub(crate) costs: Vec<f64>,
    /// Index of the layer it gets now (`None`: none, or paused).
    pub(crate) current: Option<usize>,
}

/// The layer index each of `demands` gets (`None`: paused) within `budget` bit/s, after
/// `audio` bit/s of audio.
pub(crate) fn allocate(budget: f64, audio: f64, demands: &[Demand]) -> Vec<Option<usize>> {
    let mut order: Vec<usize> = (0..demands.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(demands[i].priority));
    let mut left = budget - audio;
    let mut given: Vec<Option<usize>> = vec![None; demands.len()];
    // The cost of giving demand `d` layer `layer`: with headroom when above what it has now,
    // with some slack when at or below it.
    let price = |d: &Demand, layer: usize| {
        let cost = d.costs[layer];
        if d.current.is_some_and(|c| layer <= c) { cost * KEEP_FACTOR } else { cost * UPGRADE_HEADROOM }
    };
    for &i in &order {
        let d = &demands[i];
        if d.costs.is_empty() {
            continue;
        }
        if price(d, 0) <= left {
            left -= d.costs[0];
            given[i] = Some(0);
        }
    }
    loop {
        let mut climbed = false;
        for &i in &order {
            let d = &demands[i];
            let Some(now) = given[i] else { continue };
            let next = now + 1;
            if next >= d.costs.len() {
                continue;
            }
            let extra = price(d, next) - d.costs[now];
            if extra <= left {
                left -= d.costs[next] - d.costs[now];
                given[i] = Some(next);
                climbed = true;
            }
        }
        if !climbed {
            return one_step_up(given, demands, &order);
        }
    }
}

/// Keeps only the first upgrade in priority order (a resume, or a higher layer than the video
/// has now); the others stay where they are until a later pass. Each upgrade starts at a
/// keyframe of its new layer, several at once burst a thin link, and the estimate that allowed
/// them has seldom seen that rate.
fn one_step_up(mut given: Vec<Option<usize>>, demands: &[Demand], order: &[usize]) -> Vec<Option<usize>> {
    let mut upgraded = false;
    for &i in order {
        let current = demands[i].current;
        let up = match (given[i], current) {
            (Some(g), Some(c)) => g > c,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if up && std::mem::replace(&mut upgraded, true) {
            given[i] = current;
        }
    }
    given
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 720p camera in three layers (q, h, f).
    fn camera(priority: u64, current: Option<usize>) -> Demand {
        Demand { priority, costs: vec![150_000.0, 500_000.0, 1_700_000.0], current }
    }

    #[test]
    fn a_thin_link_gets_the_low_layers_and_a_thinner_one_pauses_video_not_audio() {
        let two = [camera(2, Some(2)), camera(1, Some(2))];
        // 500 kbit/s, 100 kbit/s of audio: both cameras at q (300 k), no room for h.
        assert_eq!(allocate(500_000.0, 100_000.0, &two), vec![Some(0), Some(0)]);
        // 1 Mbit/s: the larger tile climbs first.
        assert_eq!(allocate(1_000_000.0, 100_000.0, &two), vec![Some(1), Some(0)]);
        // plenty: both at f
        assert_eq!(allocate(5_000_000.0, 100_000.0, &two), vec![Some(2), Some(2)]);
        // 100 kbit/s, 60 of audio: neither lowest layer fits: both paused
        assert_eq!(allocate(100_000.0, 60_000.0, &two), vec![None, None]);
        // 250 kbit/s: the first gets q, the second is paused
        assert_eq!(allocate(250_000.0, 60_000.0, &two), vec![Some(0), None]);
    }

    #[test]
    fn staying_needs_no_headroom_climbing_does() {
        let at_h = [camera(1, Some(1))];
        // h costs 500 k: a budget of exactly that keeps it, but does not reach it from q
        assert_eq!(allocate(500_000.0, 0.0, &at_h), vec![Some(1)]);
        let at_q = [camera(1, Some(0))];
        assert_eq!(allocate(500_000.0, 0.0, &at_q), vec![Some(0)]);
        assert_eq!(allocate(500_000.0 * UPGRADE_HEADROOM + 1.0, 0.0, &at_q), vec![Some(1)]);
        // a paused video resumes only with headroom
        let paused = [camera(1, None)];
        assert_eq!(allocate(160_000.0, 0.0, &paused), vec![None]);
        assert_eq!(allocate(180_000.0, 0.0, &paused), vec![Some(0)]);
    }

    #[test]
    fn a_failed_upgrade_does_not_take_the_video_that_was_there() {
        // Two single-layer videos of 730 k and 90 k of audio on a 1 Mbit/s link: the first
        // flowed fine, the second was tried and the estimate fell to 790 k (0.85 × arrivals).
        let video = |current| Demand { priority: 1, costs: vec![730_000.0], current };
        let tried = [video(Some(0)), video(Some(0))];
        assert_eq!(allocate(790_000.0, 90_000.0, &tried), vec![Some(0), None]);
        // short by more than the slack: paused after all
        assert_eq!(allocate(730_000.0 * KEEP_FACTOR + 90_000.0 - 1.0, 90_000.0, &tried), vec![None, None]);
        // it would not have been resumed at that budget
        assert_eq!(allocate(790_000.0, 90_000.0, &[video(None)]), vec![None]);
    }

    #[test]
    fn one_video_goes_up_per_pass_the_larger_first() {
        let two = [camera(1, Some(0)), camera(2, Some(0))];
        // plenty for both at f: the larger tile climbs now, the other on a later pass
        assert_eq!(allocate(5_000_000.0, 0.0, &two), vec![Some(0), Some(2)]);
        assert_eq!(allocate(5_000_000.0, 0.0, &[camera(1, Some(0)), camera(2, Some(2))]), vec![Some(2), Some(2)]);
        // two paused videos resume one at a time
        assert_eq!(allocate(5_000_000.0, 0.0, &[camera(1, None), camera(2, None)]), vec![None, Some(2)]);
        // going down is never held back
        assert_eq!(allocate(400_000.0, 0.0, &[camera(1, Some(2)), camera(2, Some(0))]), vec![Some(0), Some(0)]);
    }

    #[test]
    fn a_single_layer_video_is_all_or_nothing() {
        let screen = [Demand { priority: 9, costs: vec![800_000.0], current: Some(0) }, camera(1, Some(0))];
        assert_eq!(allocate(1_000_000.0, 0.0, &screen), vec![Some(0), Some(0)]);
        assert_eq!(allocate(700_000.0, 0.0, &screen), vec![Some(0), None], "kept: 700 k covers KEEP_FACTOR of its 800 k");
        assert_eq!(allocate(650_000.0, 0.0, &screen), vec![None, Some(1)]);
    }
}
