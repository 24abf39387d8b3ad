// Shared harness of the browser end-to-end tests: starts and stops the real `switchboard` binary,
// calls its admin API, launches one headless Chromium process per participant, reads WebRTC stats
// out of the pages and writes debugging artifacts. It asserts nothing itself; the *.test.js files do.

const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { chromium } = require('playwright-core');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // Three fake cameras (and three microphones) so device switching can be tested. The second
  // camera delivers Y16 (depth) frames that no encoder takes; tests switch to the third. The fake
  // UI grants camera, microphone and screen capture without a prompt.
  '--use-fake-device-for-media-stream=device-count=3', '--use-fake-ui-for-media-stream',
  // Without it Chromium gathers no candidate on lo, the only interface in the test namespace.
  '--allow-loopback-in-peer-connection',
];

function serverBinary() {
  if (process.env.SWITCHBOARD_BIN) return path.resolve(process.env.SWITCHBOARD_BIN);
  return path.resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR || 'target', 'release', 'switchboard');
}

/** The artifacts directory (created): $ARTIFACTS_DIR or tests/e2e/artifacts. */
function artifactsDir() {
  const dir = process.env.ARTIFACTS_DIR
    ? path.resolve(process.env.ARTIFACTS_DIR)
    : path.join(__dirname, '..', 'artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Polls `probe` until it returns a truthy value; throws `describe(lastValue)` on timeout. */
async function waitFor(probe, { timeout, interval = 250, describe }) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() >= deadline) throw new Error(describe(last));
    await sleep(interval);
  }
}

/**
 * Starts the server binary (stdout and stderr go to artifacts/server-<label>.log) and waits until
 * GET /healthz answers 200.
 */
async function startServer({ label, httpPort, udpPort, args = [] }) {
  const bin = serverBinary();
  if (!fs.existsSync(bin)) throw new Error(`server binary ${bin} not found: build it first or set SWITCHBOARD_BIN`);
  const logPath = path.join(artifactsDir(), `server-${label}.log`);
  // A store of its own, fresh every run: session history seen by a test is that run's.
  const storePath = path.join(artifactsDir(), `server-${label}.db`);
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(storePath + suffix, { force: true });
  const log = fs.openSync(logPath, 'w');
  const proc = spawn(bin, ['--bind', `127.0.0.1:${httpPort}`, '--udp-port', String(udpPort), '--tcp-port', '0', '--store-path', storePath, ...args], {
    stdio: ['ignore', log, log],
    env: { RUST_LOG: 'info', ...process.env },
  });
  fs.closeSync(log);
  let exited = null;
  const exit = new Promise((resolve) => proc.once('exit', (code, signal) => {
    exited = { code, signal };
    resolve();
  }));
  const url = `http://127.0.0.1:${httpPort}`;
  const server = {
    url,
    logPath,
    exited: () => exited,
    /** SIGKILL: a crash, with no goodbye to the clients. Resolves once the process is gone. */
    async kill() {
      if (exited) return;
      proc.kill('SIGKILL');
      await exit;
    },
    async stop() {
      if (exited) return;
      proc.kill('SIGTERM');
      const graceful = await Promise.race([exit.then(() => true), sleep(3000).then(() => false)]);
      if (!graceful) {
        proc.kill('SIGKILL');
        await exit;
      }
    },
  };
  try {
    await waitFor(async () => {
      if (exited) throw new Error(`server exited early (${JSON.stringify(exited)}); log: ${logPath}\n${tail(logPath)}`);
      const res = await fetch(`${url}/healthz`).catch(() => null);
      return res?.status === 200;
    }, { timeout: 20_000, describe: () => `server not healthy after 20 s; log: ${logPath}\n${tail(logPath)}` });
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

function tail(file, lines = 30) {
  return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/** Asks the development token endpoint for a token. */
async function devToken(serverUrl, room, name) {
  const res = await fetch(`${serverUrl}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ room, name }),
  });
  if (res.status !== 200) throw new Error(`POST /dev/token: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/** A server-admin token for the admin API, signed locally by the binary (`switchboard token --admin`). */
function adminToken() {
  return execFileSync(serverBinary(), ['token', '--admin'], { encoding: 'utf8' }).trim();
}

/**
 * Calls the admin API (`path` under /api/v1) with an admin token; returns { status, body } (body
 * parsed as JSON when there is one). Throws, with the response, when the status is not 2xx.
 */
async function adminRequest(serverUrl, token, method, path, body) {
  const res = await fetch(`${serverUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} /api/v1${path}: HTTP ${res.status} ${text}`);
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Sum of every sample of a Prometheus metric (all label sets), or null when it is absent. */
async function metricSum(serverUrl, name) {
  const res = await fetch(`${serverUrl}/metrics`).catch(() => null);
  if (res?.status !== 200) return null;
  let sum = null;
  for (const line of (await res.text()).split('\n')) {
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/);
    if (m && m[1] === name) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

/**
 * Launches a separate Chromium process with a fresh profile and one page (960×600 unless
 * `viewport` says otherwise). Console errors and page errors are appended to
 * artifacts/console-<label>.log.
 */
async function launchParticipant(label, { viewport = { width: 960, height: 600 } } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), `switchboard-e2e-${label}-`));
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  const consoleLog = path.join(artifactsDir(), `console-${label}.log`);
  fs.writeFileSync(consoleLog, '');
  const page = ctx.pages()[0] ?? await ctx.newPage();
  const record = (line) => fs.appendFileSync(consoleLog, `${new Date().toISOString()} ${line}\n`);
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') record(`[${m.type()}] ${m.text()}`); });
  page.on('pageerror', (err) => record(`[pageerror] ${err.stack ?? err.message}`));
  const pid = browserPid(userDataDir);
  return {
    label,
    page,
    pid,
    /** SIGKILL the whole browser (its process group): a crash, not a goodbye. */
    kill() {
      process.kill(-pid, 'SIGKILL');
    },
    async close() {
      await ctx.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * PID of the Chromium browser process for a profile. A persistent context exposes no Browser
 * (ctx.browser() is null) and so no process(); playwright-core spawns the browser as our child,
 * detached (its own process group), with --user-data-dir=<profile> on its command line.
 */
function browserPid(userDataDir) {
  const flag = `--user-data-dir=${userDataDir}`;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes(flag)) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  throw new Error(`no Chromium process with ${flag} among our children`);
}

/**
 * Saves a screenshot of `page` as artifacts/<name>.png. With `docs: true` and
 * UPDATE_DOCS_SCREENSHOTS=1 it is also copied to docs/<name>.png (the pictures the README and docs
 * show; commit them when they changed on purpose). Other options go to page.screenshot().
 */
async function screenshot(page, name, { docs = false, ...options } = {}) {
  const file = path.join(artifactsDir(), `${name}.png`);
  await page.screenshot({ ...options, path: file });
  if (docs && process.env.UPDATE_DOCS_SCREENSHOTS === '1') fs.copyFileSync(file, path.join(REPO_ROOT, 'docs', `${name}.png`));
  return file;
}

/**
 * Opens the SDK event recorder (tests/e2e/pages/sdk-recorder.js) on `page`: a module injected into
 * a page of the server's own origin (its plain-text /healthz, where nothing else runs), so that it
 * imports the server's /sdk/index.js and may open its WebSocket (Chromium blocks loopback
 * connections from documents that did not come from a loopback address). Resolves once
 * window.startRoom exists.
 */
async function openRecorderPage(page, serverUrl) {
  await page.goto(`${serverUrl}/healthz`);
  const content = fs.readFileSync(path.join(__dirname, '..', 'pages', 'sdk-recorder.js'), 'utf8');
  await page.addScriptTag({ type: 'module', content });
  await page.waitForFunction(() => window.recorderReady === true, null, { timeout: 10_000 });
}

/** Fills the join form and clicks Join, the way a person would. */
async function joinThroughForm(page, serverUrl, room, name) {
  await page.goto(`${serverUrl}/`);
  await page.getByLabel('Room').fill(room);
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Join' }).click();
}

/** Waits until the page's client state is 'joined' and returns its participant sid. */
async function waitJoined(page, timeout = 15_000) {
  await page.waitForFunction(() => window.switchboard?.state === 'joined', null, { timeout });
  return page.evaluate(() => window.switchboard.participantSid);
}

/** Waits until the page shows no tile for `sid` and its client state no longer lists it. */
function waitTileGone(page, sid, timeout) {
  return page.waitForFunction(
    (sid) => !document.querySelector(`#grid .tile[data-sid="${CSS.escape(sid)}"]`)
      && !(sid in window.switchboard.participants),
    sid, { timeout },
  );
}

/**
 * Inbound RTP streams of the page's subscriber PC, each with `owner`: the sid of the tile whose
 * <video> plays that track (null when no tile plays it).
 */
function inboundStreams(page) {
  return page.evaluate(async () => {
    const sub = window.switchboard.subscriber;
    if (!sub) return [];
    const owner = {};
    for (const tile of document.querySelectorAll('#grid .tile[data-sid]')) {
      for (const track of tile.querySelector('video').srcObject?.getTracks() ?? []) owner[track.id] = tile.dataset.sid;
    }
    const streams = [];
    (await sub.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      streams.push({
        ssrc: s.ssrc, kind: s.kind, owner: owner[s.trackIdentifier] ?? null,
        packetsReceived: s.packetsReceived ?? 0, bytesReceived: s.bytesReceived ?? 0,
        framesDecoded: s.framesDecoded ?? 0,
      });
    });
    return streams;
  });
}

/** The remote candidate of the selected candidate pair of the publisher and subscriber PCs. */
function selectedRemoteCandidates(page) {
  return page.evaluate(async () => {
    const remoteOf = async (pc) => {
      if (!pc) return null;
      const stats = await pc.getStats();
      let pair = null;
      stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId); });
      if (!pair) stats.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
      const remote = pair && stats.get(pair.remoteCandidateId);
      if (!remote) return null;
      return { address: remote.address ?? remote.ip, port: remote.port, protocol: remote.protocol, pairState: pair.state };
    };
    const { publisher, subscriber } = window.switchboard;
    return { publisher: await remoteOf(publisher), subscriber: await remoteOf(subscriber) };
  });
}

module.exports = {
  adminRequest, adminToken, artifactsDir, devToken, inboundStreams, joinThroughForm, launchParticipant,
  metricSum, openRecorderPage, screenshot, selectedRemoteCandidates, startServer, waitFor, waitJoined, waitTileGone,
};
