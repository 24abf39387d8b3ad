// Shared by the netlab tests (run by tests/netlab/run.sh, as root): the lab script (netlab.sh)
// called from node, join tokens, the admin API from the server namespace, and Worker, one Chromium
// page in one client namespace driven over stdio (worker.js).

const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { setTimeout: sleep } = require('node:timers/promises');

const HERE = __dirname;
const REPO = path.resolve(HERE, '..', '..');
const BIN = path.resolve(process.env.SWITCHBOARD_BIN
  || path.join(REPO, process.env.CARGO_TARGET_DIR || 'target', 'release', 'switchboard'));
const ARTIFACTS = path.resolve(process.env.ARTIFACTS_DIR || path.join(HERE, 'artifacts'));
const NETLAB_STATE = process.env.NETLAB_STATE || '/tmp/netlab-switchboard.state';
const KEY = process.env.NETLAB_KEY || 'netlabkey';
const SECRET = process.env.NETLAB_SECRET || 'netlab-secret-5c1d0e8a4f7b42b69d3e1f0a7c2b9e64';
const SERVER_URL = 'http://10.77.0.1:7880';
fs.mkdirSync(ARTIFACTS, { recursive: true });

/** Runs `script` in bash with netlab.sh sourced (same state file every call); returns stdout. */
function nl(script, timeout = 60_000) {
  return execFileSync('bash', ['-c', `source "${HERE}/netlab.sh" || exit 1\n${script}`], {
    encoding: 'utf8',
    timeout,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NETLAB_BIN: BIN, NETLAB_LOG_DIR: ARTIFACTS, NETLAB_STATE, NETLAB_KEY: KEY, NETLAB_SECRET: SECRET },
  });
}

const mint = (identity, room) => execFileSync(BIN, ['token', '--api-key', KEY, '--api-secret', SECRET, '--room', room,
  '--identity', identity, '--name', identity], { encoding: 'utf8' }).trim().split('\n').pop();
const adminTok = () => execFileSync(BIN, ['token', '--api-key', KEY, '--api-secret', SECRET, '--admin'],
  { encoding: 'utf8' }).trim().split('\n').pop();

/** GET on the admin API from inside the server namespace (the root namespace has no route there). */
function adminGet(token, apiPath) {
  try {
    const out = execFileSync('ip', ['netns', 'exec', 'sbsrv', 'curl', '-s', '-m', '3', '-H', `Authorization: Bearer ${token}`,
      `${SERVER_URL}/api/v1${apiPath}`], { encoding: 'utf8', timeout: 5000 });
    return JSON.parse(out);
  } catch (err) {
    return { error: String(err.message ?? err).slice(0, 200) };
  }
}

/** POST `body` (JSON) on the admin API from inside the server namespace; the reply's JSON. */
function adminPost(token, apiPath, body) {
  try {
    const out = execFileSync('ip', ['netns', 'exec', 'sbsrv', 'curl', '-s', '-m', '3', '-X', 'POST', '-H', `Authorization: Bearer ${token}`,
      '-H', 'Content-Type: application/json', '-d', JSON.stringify(body), `${SERVER_URL}/api/v1${apiPath}`], { encoding: 'utf8', timeout: 5000 });
    return JSON.parse(out);
  } catch (err) {
    return { error: String(err.message ?? err).slice(0, 200) };
  }
}

/** A Chromium page in network namespace `ns`, run by worker.js and spoken to over its stdio. */
class Worker {
  constructor(label, ns) {
    this.label = label;
    const log = fs.openSync(path.join(ARTIFACTS, `worker-${label}.log`), 'w');
    this.proc = spawn('ip', ['netns', 'exec', ns, process.execPath, path.join(HERE, 'worker.js'), label, SERVER_URL], {
      stdio: ['pipe', 'pipe', log],
      env: { ...process.env, NETLAB_WORKER_TIMEOUT_S: process.env.NETLAB_WORKER_TIMEOUT_S || '300' },
    });
    fs.closeSync(log);
    this.nextId = 1;
    this.pending = new Map();
    this.exited = null;
    this.exit = new Promise((resolve) => this.proc.once('exit', (code, signal) => {
      this.exited = { code, signal };
      for (const p of this.pending.values()) p.reject(new Error(`${label}: worker exited (${code ?? signal}); see worker-${label}.log`));
      this.pending.clear();
      resolve();
    }));
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => {
      let msg;
      try { msg = JSON.parse(line); } catch { return; }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.value); else p.reject(new Error(`${label}: ${msg.error}`));
    });
  }

  call(op, args = {}, timeout = 30_000) {
    if (this.exited) return Promise.reject(new Error(`${this.label}: worker already exited`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.label}: ${op} timed out after ${timeout} ms`));
      }, timeout);
      this.pending.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.proc.stdin.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  /** page.evaluate of `fn` (a function, serialised) with one JSON argument. */
  eval(fn, arg, timeout) {
    return this.call('eval', { fn: fn.toString(), arg }, timeout);
  }

  async close() {
    if (this.exited) return;
    await this.call('close', {}, 10_000).catch(() => {});
    const gone = await Promise.race([this.exit.then(() => true), sleep(5000).then(() => false)]);
    if (!gone) {
      this.proc.kill('SIGKILL');
      await this.exit;
    }
  }
}

module.exports = { ARTIFACTS, BIN, SERVER_URL, Worker, adminGet, adminPost, adminTok, mint, nl };
