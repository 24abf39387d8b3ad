// What the dashboard's buttons do: each moderation action as admin API calls (docs/admin-api.md),
// with a dialog first when it needs input or confirmation. Success is announced through `notify`,
// failures through `onError`; either way the live data is refreshed right after.

import { seg } from './api.js';
import { confirmAction, openForm, showLink } from './dialogs.js';
import { displayName } from './dom.js';

const SOURCES = [['microphone', 'Microphone'], ['camera', 'Camera'], ['screen', 'Screen share']];
const TTLS = [['3600', '1 hour'], ['86400', '1 day'], ['604800', '7 days']];
const ROOM_NAME = '[A-Za-z0-9._\\-]{1,64}';

/**
 * `ctx`: api, live (refreshSoon; read at call time), room() (the selected room's name), rooms() (every room),
 * select(name), notify(text), onError(err, what).
 */
export function createActions(ctx) {
  const { api } = ctx;
  const roomPath = () => `/rooms/${seg(ctx.room())}`;
  const who = (p) => `${roomPath()}/participants/${seg(p.identity)}`;

  /** Runs an API call; announces `done` (text or function of the result) or reports the error. */
  async function run(what, call, done) {
    try {
      const result = await call();
      if (done) ctx.notify(typeof done === 'function' ? done(result) : done);
      return result;
    } catch (err) {
      ctx.onError(err, what);
      return undefined;
    } finally {
      ctx.live?.refreshSoon(0);
    }
  }

  return {
    async createRoom({ name, lobby, maxParticipants, allowRemoteUnmute }) {
      const body = { name, lobby, allow_remote_unmute: allowRemoteUnmute };
      if (maxParticipants) body.max_participants = maxParticipants;
      const room = await run('create the room', () => api.post('/rooms', body), `Room ${name} created`);
      if (room) ctx.select(room.name, room);
      return room;
    },

    async endRoom() {
      const name = ctx.room();
      const ok = await confirmAction({
        title: `End room ${name}?`, text: 'Everyone in it is disconnected (they see “The room was ended”).', submit: 'End room',
      });
      if (ok) await run('end the room', () => api.delete(roomPath()), `Room ${name} ended`);
    },

    setSetting(key, value, label) {
      return run(`change “${label}”`, () => api.patch(roomPath(), { [key]: value }), `${label}: ${value ? 'on' : 'off'}`);
    },

    muteAll() {
      return run('mute everyone', () => api.post(`${roomPath()}/mute`, { kind: 'audio' }),
        (r) => `Muted ${r.participants.length} microphone${r.participants.length === 1 ? '' : 's'}`);
    },

    async invite() {
      const values = await openForm({
        title: `Invite to ${ctx.room()}`,
        fields: [
          { name: 'identity', label: 'Identity', required: true, pattern: '[^\\s]+', hint: 'Unique in the room, e.g. dana' },
          { name: 'name', label: 'Display name' },
          { name: 'ttl', label: 'Link valid for', type: 'select', options: TTLS, value: '86400' },
        ],
        submit: 'Create link',
      });
      if (!values) return;
      const body = { identity: values.identity, ttl_s: Number(values.ttl) };
      if (values.name) body.name = values.name;
      const invite = await run('create the invite', () => api.post(`${roomPath()}/invites`, body));
      if (invite) {
        ctx.lastInvite = invite;
        showLink({
          title: `Invite for ${values.name || values.identity}`,
          url: invite.url,
          note: `Opens the call in room ${ctx.room()} directly. Valid until ${new Date(invite.expires_at).toLocaleString()}.`,
        });
      }
    },

    async message() {
      const values = await openForm({
        title: `Message to everyone in ${ctx.room()}`,
        fields: [{ name: 'text', label: 'Message', required: true }],
        submit: 'Send',
      });
      if (!values) return;
      await run('send the message', () => api.post(`${roomPath()}/data`, { payload: { type: 'chat', text: values.text } }),
        (r) => `Message delivered to ${r.delivered}`);
    },

    mute(p, track, muted) {
      const what = track.source === 'microphone' ? 'microphone' : track.source === 'screen' ? 'screen share' : 'camera';
      const done = muted ? `Muted ${displayName(p)}'s ${what}` : `Asked ${displayName(p)} to unmute the ${what}`;
      return run(muted ? 'mute' : 'unmute', () => api.post(`${who(p)}/mute`, { track: track.sid, muted }), done);
    },

    lowerHand(p) {
      return run('lower the hand', () => api.patch(who(p), { hand_raised: false }), `Lowered ${displayName(p)}'s hand`);
    },

    hold(p) {
      return run('hold', () => api.post(`${who(p)}/hold`), `${displayName(p)} is on hold`);
    },

    resume(p) {
      return run('resume', () => api.post(`${who(p)}/resume`), `${displayName(p)} is back in the call`);
    },

    async move(p) {
      const others = ctx.rooms().map((r) => r.name).filter((n) => n !== ctx.room());
      const values = await openForm({
        title: `Move ${displayName(p)}`,
        text: 'The participant keeps its connection and continues in the other room.',
        fields: [{ name: 'to', label: 'To room', required: true, list: others, pattern: ROOM_NAME, hint: 'An open room, or a new name' }],
        submit: 'Move',
      });
      if (values) await run('move', () => api.post(`${who(p)}/move`, { to_room: values.to }), `Moved ${displayName(p)} to ${values.to}`);
    },

    async remove(p) {
      const values = await openForm({
        title: `Remove ${displayName(p)}`,
        fields: [
          { name: 'reason', label: 'Reason (shown to them)', placeholder: 'e.g. Please rejoin later' },
          { name: 'ban', label: 'Also ban this identity from the room', type: 'checkbox' },
        ],
        submit: 'Remove',
        danger: true,
      });
      if (!values) return;
      const query = new URLSearchParams();
      if (values.reason) query.set('reason', values.reason);
      if (values.ban) query.set('ban', 'true');
      const q = query.toString();
      await run('remove', () => api.delete(`${who(p)}${q ? `?${q}` : ''}`),
        `Removed ${displayName(p)}${values.ban ? ' and banned the identity' : ''}`);
    },

    async permissions(p) {
      const perm = p.permissions;
      const values = await openForm({
        title: `Permissions of ${displayName(p)}`,
        text: 'Changes apply at once.',
        fields: [
          { name: 'can_publish', label: 'May publish media', type: 'checkbox', value: perm.can_publish },
          { name: 'sources', label: 'Only these sources (none ticked: all)', type: 'checkboxes', options: SOURCES, value: perm.can_publish_sources },
          { name: 'can_subscribe', label: 'Receives the others', type: 'checkbox', value: perm.can_subscribe },
          { name: 'can_publish_data', label: 'May send chat and data', type: 'checkbox', value: perm.can_publish_data },
          { name: 'hidden', label: 'Hidden from the other participants', type: 'checkbox', value: perm.hidden },
          { name: 'room_admin', label: 'Room admin (may moderate from the call)', type: 'checkbox', value: perm.room_admin },
        ],
        submit: 'Save',
      });
      if (!values) return;
      const permissions = {
        can_publish: values.can_publish, can_publish_sources: values.sources, can_subscribe: values.can_subscribe,
        can_publish_data: values.can_publish_data, hidden: values.hidden, room_admin: values.room_admin,
      };
      await run('change permissions', () => api.patch(who(p), { permissions }), `Updated ${displayName(p)}'s permissions`);
    },

    admit(p) {
      return run('admit', () => api.post(`${roomPath()}/lobby/${seg(p.identity)}/admit`), `Admitted ${displayName(p)}`);
    },

    deny(p) {
      return run('deny', () => api.post(`${roomPath()}/lobby/${seg(p.identity)}/deny`), `Denied ${displayName(p)}`);
    },

    liftBan(identity) {
      return run('lift the ban', () => api.delete(`${roomPath()}/bans/${seg(identity)}`), `${identity} may join again`);
    },
  };
}
