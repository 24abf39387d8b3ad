// The admin REST API client (docs/admin-api.md): every request carries the moderator's Bearer
// token; failures become ApiError with the server's `error.code` and message. A 401 also tells
// `onUnauthorized` (the token expired or is wrong: sign in again).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Path segment, percent-encoded (identities and room names may contain dots and dashes only, but be safe). */
export const seg = encodeURIComponent;

export class Api {
  constructor(token, { onUnauthorized = () => {} } = {}) {
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  get(path) { return this.request('GET', path); }

  post(path, body = {}) { return this.request('POST', path, body); }

  patch(path, body) { return this.request('PATCH', path, body); }

  delete(path) { return this.request('DELETE', path); }

  /** `path` is under /api/v1. Resolves to the parsed JSON body (null for 204). */
  async request(method, path, body) {
    const headers = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new ApiError(0, 'network_error', `cannot reach the server: ${err.message}`);
    }
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text for the message
    }
    if (res.ok) return json;
    const code = json?.error?.code ?? `http_${res.status}`;
    const message = json?.error?.message ?? (text || `HTTP ${res.status}`);
    if (res.status === 401) this.onUnauthorized(code, message);
    throw new ApiError(res.status, code, message);
  }

  /** The live event stream (SSE); `EventSource` cannot set headers, so the token rides in the query. */
  events() {
    return new EventSource(`/api/v1/events?access_token=${encodeURIComponent(this.token)}`);
  }
}
