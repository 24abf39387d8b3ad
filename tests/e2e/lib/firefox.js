// Firefox ESR (Debian `firefox-esr`) for the browser tests, driven by puppeteer-core over WebDriver
// BiDi (no geckodriver). A launched page is wrapped so that the harness's helpers, written for
// playwright pages (evaluate, waitForFunction(fn, arg, {timeout}), goto, addScriptTag), work on it.
// The prefs give fake camera and microphone without a prompt (without the two
// `permissions.default.*` Firefox gathers no ICE candidate in a namespace with only `lo`), allow
// loopback candidates, and switch off everything that would reach the network.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const puppeteer = require('puppeteer-core');
const { artifactsDir } = require('./harness');

const FIREFOX_BIN = process.env.FIREFOX_BIN || '/usr/bin/firefox-esr';

const PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
  'media.peerconnection.ice.loopback': true,
  'media.autoplay.default': 0,
  'app.update.enabled': false,
  'app.update.auto': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'extensions.update.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
};

/** A playwright-like view of a puppeteer page: what the harness and the tests call. */
function wrap(page) {
  return {
    raw: page,
    goto: (url) => page.goto(url),
    addScriptTag: (options) => page.addScriptTag(options),
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    waitForFunction: (fn, arg, { timeout = 30_000 } = {}) => page.waitForFunction(fn, { timeout, polling: 100 }, arg),
  };
}

/** Whether this machine has Firefox ESR (the suite installs it; see scripts/test-all.sh). */
function firefoxAvailable() {
  return fs.existsSync(FIREFOX_BIN);
}

/** A headless Firefox with a fresh profile; `page` is wrapped (see wrap()). */
async function launchFirefox(label) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), `switchboard-e2e-ff-${label}-`));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_BIN,
    headless: true,
    userDataDir,
    extraPrefsFirefox: PREFS,
    protocolTimeout: 60_000,
  });
  const raw = (await browser.pages())[0] ?? await browser.newPage();
  const consoleLog = path.join(artifactsDir(), `console-${label}.log`);
  fs.writeFileSync(consoleLog, '');
  raw.on('console', (m) => {
    if (['error', 'warn', 'warning'].includes(m.type())) fs.appendFileSync(consoleLog, `${new Date().toISOString()} [${m.type()}] ${m.text()}\n`);
  });
  raw.on('pageerror', (err) => fs.appendFileSync(consoleLog, `${new Date().toISOString()} [pageerror] ${err.stack ?? err.message}\n`));
  return {
    label,
    page: wrap(raw),
    userAgent: await raw.evaluate(() => navigator.userAgent),
    async close() {
      await browser.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

module.exports = { firefoxAvailable, launchFirefox };
