// The one error type of the SDK: a `code` (the server's error code from docs/protocol.md, or one
// of the SDK's own listed in docs/sdk.md) and a message that says what happened and what to do.

export class SwitchboardError extends Error {
  /**
   * @param {string} code snake_case, e.g. `invalid_token`, `not_found`, `muted_by_moderator`
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = 'SwitchboardError';
    /** @type {string} */
    this.code = code;
  }
}
