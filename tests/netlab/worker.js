// One Chromium page in one client network namespace, driven by shaped.test.js over stdio:
//   ip netns exec sbcN node worker.js LABEL SERVER_URL
// Requests are JSON lines on stdin, {id, op, ...}; each gets one JSON line on stdout,
// {id, ok: true, value} or {id, ok: false, error}. Diagnostics go to stderr. Ops:
//   launch {viewport}  Chromium (fresh profile) with the server's /healthz page and the SDK event
//                      recorder of tests/e2e (harness.openRecorderPage), plus a tap that records
//                      every server message the page's WebSocket receives (window.serverMessages)
//   eval {fn, arg}     page.evaluate of a function's source with one JSON argument
//   screenshot {path}
//   close              closes the browser and exits
// The worker also closes its browser and exits when stdin ends (the driver is gone) and after
// NETLAB_WORKER_TIMEOUT_S (default 300) in any case, so nothing outlives the test.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const E2E = path.join(__dirname, '..', 'e2e');
const { openRecorderPage } = require(path.join(E2E, 'lib', 'harness.js'));
const { chromium } = require(require.resolve('playwright-core', { paths: [E2E] }));

const [label = 'page', serverUrl = 'http://10.77.0.1:7880'] = process.argv.slice(2);
const origin = new URL(serverUrl).origin;

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  // getUserMedia needs a secure context; the server's origin is plain http on a bridge address.
  `--unsafely-treat-insecure-origin-as-secure=${origin}`,
];

/** Runs in the page before it joins: every JSON message the SDK's WebSocket receives, summarised. */
function installTap() {
  if (window.serverMessages) return;
  window.serverMessages = [];
  window.serverMessageCounts = {};
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (ev) => {
        let msg;
        try { msg = JSON.parse(ev.data); } catch { return; }
        const type = String(msg?.type);
        window.serverMessageCounts[type] = (window.serverMessageCounts[type] ?? 0) + 1;
        // Offers and room snapshots are large and not asserted on: keep their type only.
        const keep = !/offer|answer|candidate|joined|participant_/.test(type) || type === 'stream_state';
        const entry = keep ? { ...msg } : { type };
        if (type === 'joined') entry.ice_servers = msg.ice_servers ?? null;
        window.serverMessages.push({ at: Date.now(), ...entry });
        if (window.serverMessages.length > 5000) window.serverMessages.splice(0, 1000);
      });
    }
  };
}

let ctx = null;
let page = null;
let userDataDir = null;
const log = (line) => process.stderr.write(`${new Date().toISOString()} [${label}] ${line}\n`);

async function launch({ viewport = { width: 960, height: 600 } } = {}) {
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), `netlab-${label}-`));
  ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  page = ctx.pages()[0] ?? await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') log(`[${m.type()}] ${m.text()}`); });
  page.on('pageerror', (err) => log(`[pageerror] ${err.stack ?? err.message}`));
  await openRecorderPage(page, serverUrl);
  await page.evaluate(installTap);
  return { userAgent: await page.evaluate(() => navigator.userAgent) };
}

async function close() {
  if (ctx) await ctx.close().catch(() => {});
  ctx = null;
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  userDataDir = null;
}

const ops = {
  launch,
  eval: ({ fn, arg }) => page.evaluate(`(${fn})(${JSON.stringify(arg ?? null)})`),
  screenshot: async ({ path: file }) => { await page.screenshot({ path: file }); return file; },
  close: async () => { await close(); setImmediate(() => process.exit(0)); return true; },
};

const reply = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

const deadline = setTimeout(async () => {
  log('worker timeout: closing');
  await close();
  process.exit(3);
}, Number(process.env.NETLAB_WORKER_TIMEOUT_S || 300) * 1000);
deadline.unref();

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  let req;
  try { req = JSON.parse(line); } catch { return; }
  const op = ops[req.op];
  if (!op) { reply({ id: req.id, ok: false, error: `unknown op ${req.op}` }); return; }
  try {
    reply({ id: req.id, ok: true, value: await op(req) });
  } catch (err) {
    reply({ id: req.id, ok: false, error: String(err?.stack ?? err) });
  }
}).on('close', async () => {
  await close();
  process.exit(0);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, async () => { await close(); process.exit(1); });
