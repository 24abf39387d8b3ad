//! [`LayerSelection`]: which of a source's layers one route forwards, and when it may switch.
//!
//! A route forwards one layer (by SSRC) and has a target layer, chosen by the shard from what the
//! subscriber wants and what the publisher sends. It keeps forwarding its current layer until the
//! target's next keyframe, and switches on that keyframe (never on a delta frame, which the
//! receiver could not decode): switching up and down alike, since simulcast layers are separate
//! encodings. After a pause, or at the start, it waits for a keyframe of the target. Audio has
//! one layer and needs no keyframe. Pure logic; the numbering across a switch is the route's.

/// Why a layer's packet is not forwarded on this route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    /// Waiting for a keyframe of the target layer to start (or restart) on.
    KeyframeWait,
    /// A layer the route neither forwards nor is switching to.
    OtherLayer,
}

/// A packet the route forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Take {
    /// On the layer forwarded so far.
    Same,
    /// The first packet of another layer than the one forwarded before (numbering re-bases).
    Switched,
}

/// The layer one route forwards and the one it is heading for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LayerSelection {
    /// SSRC of the layer forwarded last (kept across a pause).
    current: Option<u32>,
    /// SSRC of the layer wanted.
    target: u32,
    /// Nothing is forwarded until a keyframe of the target (start, after a pause).
    waiting: bool,
    /// Video: layers start at keyframes.
    keyframes: bool,
}

impl LayerSelection {
    /// A selection heading for `target`; `keyframes`: a video route (starts at a keyframe).
    pub(crate) fn new(target: u32, keyframes: bool) -> Self {
        Self { current: None, target, waiting: keyframes, keyframes }
    }

    /// Whether a packet of layer `ssrc` (`keyframe`: starting one) is forwarded.
    pub(crate) fn admit(&mut self, ssrc: u32, keyframe: bool) -> Result<Take, Skip> {
        if self.current == Some(ssrc) && !self.waiting {
            return Ok(Take::Same);
        }
        if ssrc == self.target && (keyframe || !self.keyframes) {
            let previous = self.current.replace(ssrc);
            self.waiting = false;
            return Ok(if previous.is_some_and(|p| p != ssrc) { Take::Switched } else { Take::Same });
        }
        if ssrc == self.target {
            return Err(Skip::KeyframeWait);
        }
        Err(Skip::OtherLayer)
    }

    /// Heads for layer `ssrc`; whether that changed the target.
    pub(crate) fn set_target(&mut self, ssrc: u32) -> bool {
        std::mem::replace(&mut self.target, ssrc) != ssrc
    }

    /// Heads for layer `ssrc` and stops forwarding the current one at once (nothing until the
    /// target's keyframe): for a subscriber whose link cannot carry the current layer, a short
    /// freeze of this video costs less than a queue that delays and drops everything it
    /// receives. Whether anything changed.
    pub(crate) fn cut_to(&mut self, ssrc: u32) -> bool {
        let changed = self.set_target(ssrc) || !self.waiting;
        self.waiting = self.keyframes;
        changed
    }

    /// After a pause: nothing until a keyframe of the target.
    pub(crate) fn restart(&mut self) {
        self.waiting = self.keyframes;
    }

    /// The layer whose keyframe the route waits for, if it does (to start, or to switch).
    pub(crate) fn awaited(&self) -> Option<u32> {
        (self.keyframes && (self.waiting || self.current != Some(self.target))).then_some(self.target)
    }

    /// The layer forwarded now, if any.
    pub(crate) fn current(&self) -> Option<u32> {
        self.current.filter(|_| !self.waiting)
    }

    /// The layer heading for.
    pub(crate) fn target(&self) -> u32 {
        self.target
    }

    /// The layer a subscriber's keyframe request concerns: the one it sees, or is about to.
    pub(crate) fn shown(&self) -> u32 {
        self.current().unwrap_or(self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: u32 = 1;
    const H: u32 = 2;
    const F: u32 = 3;

    #[test]
    fn starts_at_a_keyframe_of_the_target_only() {
        let mut s = LayerSelection::new(F, true);
        assert_eq!(s.awaited(), Some(F));
        assert_eq!(s.admit(F, false), Err(Skip::KeyframeWait));
        assert_eq!(s.admit(Q, true), Err(Skip::OtherLayer), "a keyframe of another layer");
        assert_eq!(s.admit(F, true), Ok(Take::Same), "the first layer is no switch");
        assert_eq!(s.admit(F, false), Ok(Take::Same));
        assert_eq!(s.admit(H, false), Err(Skip::OtherLayer));
        assert_eq!(s.awaited(), None);
        assert_eq!((s.current(), s.target(), s.shown()), (Some(F), F, F));
    }

    #[test]
    fn keeps_the_current_layer_until_the_target_keyframe() {
        let mut s = LayerSelection::new(F, true);
        s.admit(F, true).unwrap();
        assert!(s.set_target(Q));
        assert!(!s.set_target(Q), "no change");
        assert_eq!(s.awaited(), Some(Q), "a keyframe of the target is needed");
        assert_eq!(s.admit(F, false), Ok(Take::Same), "still flowing meanwhile");
        assert_eq!(s.admit(Q, false), Err(Skip::KeyframeWait));
        assert_eq!(s.admit(Q, true), Ok(Take::Switched));
        assert_eq!(s.admit(F, true), Err(Skip::OtherLayer), "the old layer stops at once");
        assert_eq!((s.current(), s.awaited()), (Some(Q), None));
        // and back up
        s.set_target(F);
        assert_eq!(s.admit(Q, false), Ok(Take::Same));
        assert_eq!(s.admit(F, true), Ok(Take::Switched));
    }

    #[test]
    fn cutting_down_stops_the_current_layer_at_once() {
        let mut s = LayerSelection::new(F, true);
        s.admit(F, true).unwrap();
        assert!(s.cut_to(Q));
        assert_eq!(s.admit(F, false), Err(Skip::OtherLayer), "the current layer stops now");
        assert_eq!((s.current(), s.awaited()), (None, Some(Q)));
        assert_eq!(s.admit(Q, false), Err(Skip::KeyframeWait));
        assert_eq!(s.admit(Q, true), Ok(Take::Switched), "a switch: the numbering re-bases");
        assert_eq!(s.current(), Some(Q));
    }

    #[test]
    fn a_pause_waits_for_a_keyframe_of_the_target() {
        let mut s = LayerSelection::new(H, true);
        s.admit(H, true).unwrap();
        s.restart();
        assert!(s.current().is_none(), "waiting");
        assert_eq!(s.admit(H, false), Err(Skip::KeyframeWait));
        assert_eq!(s.admit(H, true), Ok(Take::Same), "same layer as before the pause");
        s.restart();
        s.set_target(Q);
        assert_eq!(s.admit(H, true), Err(Skip::OtherLayer), "no longer the target");
        assert_eq!(s.admit(Q, true), Ok(Take::Switched));
    }

    #[test]
    fn audio_needs_no_keyframe() {
        let mut s = LayerSelection::new(7, false);
        assert_eq!(s.awaited(), None);
        assert_eq!(s.admit(7, false), Ok(Take::Same));
        s.restart();
        assert_eq!(s.admit(7, false), Ok(Take::Same));
        assert_eq!(s.admit(8, false), Err(Skip::OtherLayer));
    }
}
