// Type declarations only (JSDoc, checked by tsc): the wire objects of docs/protocol.md, the
// Room's states and the payload of every Room event. Nothing here runs.

/** @typedef {import('./participant.js').Participant} Participant */
/** @typedef {import('./participant.js').RemoteParticipant} RemoteParticipant */
/** @typedef {import('./participant.js').RemoteTrackPublication} RemoteTrackPublication */
/** @typedef {import('./local.js').LocalParticipant} LocalParticipant */
/** @typedef {import('./local-tracks.js').LocalTrackPublication} LocalTrackPublication */
/** @typedef {import('./errors.js').SwitchboardError} SwitchboardError */

/** @typedef {'audio' | 'video'} TrackKind */
/** @typedef {'microphone' | 'camera' | 'screen'} TrackSource */
/** @typedef {'excellent' | 'good' | 'poor' | 'lost'} ConnectionQuality */
/** @typedef {'invited' | 'lobby' | 'joining' | 'connected' | 'on_hold' | 'disconnected'} ParticipantState */

/**
 * The Room's call state: `idle` before connect(); `joining` while the socket opens and until the
 * server reports our transports up; `lobby` waiting for a moderator; `connected`; `on_hold`;
 * `reconnecting` after the connection dropped; `disconnected` at the end (see disconnectReason).
 * @typedef {'idle' | 'joining' | 'lobby' | 'connected' | 'on_hold' | 'reconnecting' | 'disconnected'} RoomState
 */

/**
 * Why the call ended: we left; a moderator removed us; the room was ended; the same identity
 * joined elsewhere; a moderator denied us from the lobby; reconnecting gave up; any other error
 * (`room.error` says which).
 * @typedef {'left' | 'removed' | 'room_ended' | 'replaced' | 'denied' | 'timeout' | 'error'} DisconnectReason
 */

/**
 * @typedef {object} Permissions
 * @property {boolean} can_publish
 * @property {TrackSource[]} can_publish_sources empty: every source
 * @property {boolean} can_subscribe
 * @property {boolean} can_publish_data
 * @property {boolean} hidden
 * @property {boolean} room_admin
 */

/**
 * @typedef {object} TrackInfo
 * @property {string} sid
 * @property {TrackKind} kind
 * @property {TrackSource} source
 * @property {string} mime_type
 * @property {boolean} muted
 * @property {string | null} muted_by
 */

/**
 * @typedef {object} ParticipantInfo
 * @property {string} sid
 * @property {string} identity
 * @property {string} name
 * @property {ParticipantState} state
 * @property {string} joined_at
 * @property {Permissions} permissions
 * @property {unknown} metadata
 * @property {boolean} hand_raised
 * @property {string} [hand_raised_at]
 * @property {TrackInfo[]} tracks
 */

/**
 * @typedef {object} RoomInfo
 * @property {string} name
 * @property {string} sid
 */

/**
 * A server message (docs/protocol.md, "Server → client"): `type` plus its fields.
 * @typedef {{type: string, [field: string]: any}} ServerMessage
 */

/**
 * A moderation request (the protocol's `moderate` message without `type`).
 * @typedef {object} ModerateRequest
 * @property {'mute' | 'unmute' | 'mute_room' | 'hold' | 'resume' | 'remove' | 'move' | 'admit' | 'deny' | 'update_permissions' | 'lower_hand' | 'list'} action
 * @property {string} [identity]
 * @property {string} [track]
 * @property {TrackKind} [kind]
 * @property {string} [to_room]
 * @property {string} [reason]
 * @property {boolean} [ban]
 * @property {string[]} [except]
 * @property {Partial<Permissions>} [permissions]
 */

/**
 * @typedef {object} ActiveSpeaker
 * @property {Participant} participant
 * @property {number} level 0..1
 */

/**
 * @typedef {object} ReconnectingInfo
 * @property {'connection_lost' | 'server_shutdown'} reason
 * @property {boolean} resuming the PCs, the participants and our sid are kept while the server's
 *   resume window lasts (docs/protocol.md, "Resume"); false: the next join is a new participant
 * @property {number} [closeCode] the WebSocket close code when the connection dropped
 * @property {number} attempt 1-based
 * @property {number} maxAttempts after the last one the call ends with reason `timeout`
 * @property {number} delayMs wait before this attempt
 */

/**
 * Payload of every Room event, by name.
 * @typedef {object} RoomEvents
 * @property {{state: RoomState, previous: RoomState, reason: DisconnectReason | null, error: SwitchboardError | null}} stateChanged
 * @property {{room: string, participant: LocalParticipant, reconnected: boolean}} joined
 * @property {{participant: RemoteParticipant}} participantJoined
 * @property {{participant: RemoteParticipant, reason: string}} participantLeft
 * @property {{participant: Participant, changed: string[]}} participantUpdated
 * @property {{participant: RemoteParticipant, publication: RemoteTrackPublication}} trackPublished
 * @property {{participant: RemoteParticipant, publication: RemoteTrackPublication}} trackUnpublished
 * @property {{participant: RemoteParticipant, publication: RemoteTrackPublication, track: MediaStreamTrack}} trackSubscribed
 * @property {{participant: RemoteParticipant, publication: RemoteTrackPublication, track: MediaStreamTrack}} trackUnsubscribed
 * @property {{participant: Participant, publication: RemoteTrackPublication | LocalTrackPublication, by: string | null}} trackMuted
 * @property {{participant: Participant, publication: RemoteTrackPublication | LocalTrackPublication, by: string | null}} trackUnmuted
 * @property {{participant: RemoteParticipant, publication: RemoteTrackPublication, state: 'active' | 'paused', reason: string}} trackStreamStateChanged
 * @property {{publication: LocalTrackPublication}} localTrackPublished
 * @property {{publication: LocalTrackPublication}} localTrackUnpublished
 * @property {{publication: LocalTrackPublication}} localTrackChanged
 * @property {{speakers: ActiveSpeaker[]}} activeSpeakers
 * @property {{participant: Participant, quality: ConnectionQuality}} connectionQuality
 * @property {{payload: unknown, from: string | null, participant: RemoteParticipant | null}} dataReceived
 * @property {{participant: Participant}} handRaised
 * @property {{participant: Participant, byModerator: boolean | null}} handLowered
 * @property {{publication: LocalTrackPublication, by: string}} unmuteRequested
 * @property {{by: string}} onHold
 * @property {{by: string}} resumed
 * @property {{room: string, previousRoom: string | null}} moved
 * @property {{reason: string}} removed
 * @property {{}} admitted
 * @property {{}} denied
 * @property {{deadlineS: number}} goingAway
 * @property {ReconnectingInfo} reconnecting
 * @property {{attempts: number, resumed: boolean}} reconnected `resumed`: the same participant
 *   (sid, state, tracks, subscriptions); false: the server no longer had us, we joined as new
 * @property {{publisher: RTCPeerConnectionState | null, subscriber: RTCPeerConnectionState | null}} transportStateChanged
 * @property {{rttMs: number}} pong
 * @property {SwitchboardError} error
 */

/**
 * Emits one Room event (the Room's emit, handed to the parts it is made of).
 * @typedef {<K extends keyof RoomEvents>(event: K, payload: RoomEvents[K]) => void} Emit
 */

export {};
