// Raised hands: the handRaised / handLowered events for any participant, and our own hand as
// server state (`set_hand_raised`, echoed to everyone in `participant_updated`): raised again
// after a reconnection (a new session starts lowered), lowered by a move, and told apart when a
// moderator lowered it.

/** @typedef {import('./types.js').Emit} Emit */
/** @typedef {import('./participant.js').Participant} Participant */

/**
 * handRaised / handLowered for a participant whose hand changed.
 * @param {Emit} emit
 * @param {Participant} participant
 * @param {boolean} wasRaised
 * @param {boolean | null} byModerator null: not known (someone else's hand)
 */
export function handEvent(emit, participant, wasRaised, byModerator) {
  if (participant.handRaised && !wasRaised) emit('handRaised', { participant });
  else if (!participant.handRaised && wasRaised) emit('handLowered', { participant, byModerator });
}

export class OwnHand {
  /**
   * @param {Participant} participant the local participant, whose handRaised this keeps
   * @param {Emit} emit
   * @param {(msg: object) => boolean} send
   */
  constructor(participant, emit, send) {
    this.participant = participant;
    this.emit = emit;
    this.send = send;
    /** @type {boolean | null} the state we asked for that the server has not echoed yet */
    this.pending = null;
  }

  /**
   * Raises or lowers it (shown at once; the server tells everyone).
   * @param {boolean} raised
   */
  set(raised) {
    const p = this.participant;
    const was = p.handRaised;
    p.handRaised = raised;
    p.handRaisedAt = raised ? new Date().toISOString() : null;
    this.request(raised);
    handEvent(this.emit, p, was, false);
  }

  /** We (re)joined: a reconnection is a new session, so a raised hand is raised again. */
  entered() {
    this.pending = null;
    if (this.participant.handRaised) this.request(true);
  }

  /**
   * The hand in our own participant_updated (`was`: our state before it was applied). While a
   * request of ours is on its way, updates (its echoes, and others sent before the server saw
   * it) say nothing new; after that, a hand that went down by itself was lowered by a moderator.
   * @param {{raised: boolean, at: string | null}} was
   * @param {import('./types.js').ParticipantInfo} info
   */
  update(was, info) {
    const p = this.participant;
    const raised = info.hand_raised === true;
    if (this.pending !== null || raised === was.raised) {
      if (raised === this.pending) this.pending = null;
      p.handRaised = was.raised;
      p.handRaisedAt = was.at;
      return;
    }
    p.handRaised = raised;
    p.handRaisedAt = info.hand_raised_at ?? null;
    handEvent(this.emit, p, was.raised, !raised);
  }

  /** A moderator moved us: the server lowered our hand (it was a question to the old room). */
  moved() {
    const p = this.participant;
    this.pending = null;
    const was = p.handRaised;
    p.handRaised = false;
    p.handRaisedAt = null;
    handEvent(this.emit, p, was, false);
  }

  /** @param {boolean} raised */
  request(raised) {
    this.pending = raised;
    this.send({ type: 'set_hand_raised', raised });
  }
}
