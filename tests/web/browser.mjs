// A tiny headless-Chromium driver for tests, using only node built-ins.
// It talks the DevTools protocol over --remote-debugging-pipe: chromium reads
// JSON messages ending in a NUL byte on its fd 3 and writes replies and events
// on its fd 4, so no WebSocket is needed.
import { spawn } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Reject with "timeout after N ms: what" unless the promise settles first.
export function withTimeout(promise, ms, what) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.json': 'application/json', '.bin': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
};

// Static file server on 127.0.0.1. Every request path is kept in server.requests.
export function serve(dir, { port = 0, headers = {} } = {}) {
  const root = path.resolve(dir);
  const requests = [];
  const server = http.createServer((req, res) => {
    const reply = (code, text) => { res.writeHead(code, { 'Content-Type': 'text/plain' }); res.end(text + '\n'); };
    let p;
    try { p = decodeURIComponent(new URL(req.url, 'http://localhost').pathname); } catch { p = null; }
    requests.push(p ?? req.url);
    if (p === null || p.includes('\0')) return reply(400, 'bad path');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed');
    if (p.endsWith('/')) p += 'index.html';
    const file = path.resolve(root, '.' + p);
    if (!file.startsWith(root + path.sep)) return reply(403, 'outside the served folder');
    fs.readFile(file, (err, data) => {
      if (err) return reply(404, 'not found');
      res.writeHead(200, {
        'Content-Type': TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream',
        'Content-Length': data.length, 'Cache-Control': 'no-store', ...headers,
      });
      res.end(req.method === 'HEAD' ? undefined : data);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const actual = server.address().port;
      resolve({
        port: actual, url: `http://127.0.0.1:${actual}/`, requests,
        close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
      });
    });
  });
}

// Every chromium we started, so a crashing test still kills them on exit.
const running = new Set();
process.on('exit', () => { for (const child of running) killGroup(child); });
function killGroup(child) {
  try { process.kill(-child.pid, 'SIGKILL'); } catch { try { child.kill('SIGKILL'); } catch {} }
}

export async function launch({ executable = 'chromium', headless = true, userDataDir,
  windowSize = [1280, 900], extraArgs = [], timeoutMs = 30000 } = {}) {
  const ownDir = !userDataDir;
  const dataDir = userDataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cdp-profile-'));
  const args = [
    ...(headless ? ['--headless=new'] : []), '--no-sandbox', '--disable-gpu',
    '--remote-debugging-pipe', '--no-first-run', '--no-default-browser-check',
    '--disable-extensions', '--mute-audio', `--user-data-dir=${dataDir}`,
    `--window-size=${windowSize[0]},${windowSize[1]}`,
    // Keep the browser quiet and unthrottled: no background fetches, no
    // timer throttling of hidden pages, /tmp instead of a small /dev/shm.
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-default-apps', '--disable-dev-shm-usage', '--password-store=basic',
    '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
    ...extraArgs, 'about:blank',
  ];
  // detached: chromium gets its own process group, so close() can kill all of it.
  const child = spawn(executable, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'], detached: true });
  const browser = new Browser(child, dataDir, ownDir);
  const started = new Promise((resolve, reject) => {
    child.once('error', (e) => reject(new Error(e.code === 'ENOENT'
      ? `chromium not found: ${executable} (apt-get install chromium)` : `cannot start ${executable}: ${e.message}`)));
    // An early exit rejects this with the exit code and the last stderr lines.
    browser.send('Browser.getVersion', {}, undefined, timeoutMs).then(resolve, reject);
  });
  try {
    browser.version = await started;
  } catch (e) {
    await browser.close();
    if (e.message.startsWith('timeout')) e.message += `\n${browser.stderrTail()}`;
    throw e;
  }
  return browser;
}

class Browser {
  constructor(child, dataDir, ownDir) {
    Object.assign(this, { child, dataDir, ownDir, nextId: 1, pending: new Map(), listeners: new Set(), stderr: [] });
    running.add(child);
    child.on('error', () => {}); // reported by launch(); must not crash node
    // 'exit' never comes when the spawn itself failed, only 'error' without a pid.
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`));
      child.once('error', () => { if (!child.pid) resolve(); });
    });
    this.exited.then((how) => {
      this.dead = true;
      running.delete(child);
      for (const p of this.pending.values()) p.reject(new Error(`${p.method}: chromium exited (${how})\n${this.stderrTail()}`));
      this.pending.clear();
    });
    child.stdout.resume();
    // Keep the last 200 lines of stderr for error messages, less the dbus
    // complaints that containers without a session bus produce by the dozen.
    child.stderr.setEncoding('utf8').on('data', (text) => {
      this.stderr.push(...text.split('\n').filter((l) => l && !/dbus/i.test(l)));
      this.stderr.splice(0, this.stderr.length - 200);
    });
    child.stdio[3].on('error', () => {});
    // Messages may arrive split over several chunks, or several in one chunk.
    let parts = [];
    child.stdio[4].on('data', (chunk) => {
      let at;
      while ((at = chunk.indexOf(0)) >= 0) {
        parts.push(chunk.subarray(0, at));
        this.dispatch(JSON.parse(Buffer.concat(parts).toString('utf8')));
        parts = [];
        chunk = chunk.subarray(at + 1);
      }
      if (chunk.length) parts.push(chunk);
    });
  }

  stderrTail(n = 20) { return this.stderr.slice(-n).map((l) => '  chromium: ' + l).join('\n') || '  (nothing on stderr)'; }

  dispatch(msg) {
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}${msg.error.data ? ` (${msg.error.data})` : ''}`));
      else p.resolve(msg.result);
      return;
    }
    for (const l of [...this.listeners]) {
      if (l.method === msg.method && (l.sessionId === undefined || l.sessionId === (msg.sessionId ?? null))) {
        try { l.fn(msg.params, msg.sessionId); } catch (e) { console.error(`listener for ${msg.method}:`, e); }
      }
    }
  }

  // Send one command; sessionId null or undefined means the browser itself.
  send(method, params = {}, sessionId, timeoutMs = 30000) {
    if (this.dead || (this.closing && method !== 'Browser.close')) {
      return Promise.reject(new Error(`${method}: chromium is not running`));
    }
    const id = this.nextId++;
    const reply = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.child.stdio[3].write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
    return withTimeout(reply, timeoutMs, method).finally(() => this.pending.delete(id));
  }

  // Call fn(params, sessionId) for each `method` event; with a sessionId only
  // for that session (null: browser-level events only). Returns an unsubscribe function.
  on(method, fn, sessionId) {
    const l = { method, fn, sessionId };
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  // Resolve with the params of the next `method` event for which test(params) holds.
  waitEvent(method, { sessionId, timeoutMs = 30000, test = () => true } = {}) {
    let off;
    const seen = new Promise((resolve) => { off = this.on(method, (p) => { if (test(p)) resolve(p); }, sessionId); });
    return withTimeout(seen, timeoutMs, `waiting for ${method}`).finally(() => off());
  }

  async newPage(url = 'about:blank', { timeoutMs = 30000 } = {}) {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(this, targetId, sessionId);
    await page.init();
    if (url !== 'about:blank') await page.goto(url, { timeoutMs });
    return page;
  }

  async close() {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      if (!this.dead && this.version) { // ask politely only if it ever answered
        await this.send('Browser.close', {}, undefined, 5000).catch(() => {});
        await withTimeout(this.exited, 5000, 'chromium exit').catch(() => {});
      }
      // Helper processes (zygote, renderers) share the group; make sure none survive.
      if (this.child.pid) killGroup(this.child);
      await withTimeout(this.exited, 5000, 'chromium exit after kill').catch(() => {});
      running.delete(this.child);
      if (this.ownDir) fs.rmSync(this.dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    })();
    return this.closing;
  }
}

// One line of text for a RemoteObject (console argument).
function show(o) {
  if ('value' in o) return typeof o.value === 'string' ? o.value : JSON.stringify(o.value);
  return o.unserializableValue ?? o.description ?? o.type;
}
function exceptionText(d) {
  const where = d.url ? ` (${d.url}:${d.lineNumber + 1})` : '';
  return (d.exception?.description ?? d.text) + where;
}

class Page {
  constructor(browser, targetId, sessionId) {
    Object.assign(this, { browser, targetId, sessionId, console: [], offs: [], downloads: [], downloadWaiters: [] });
  }

  send(method, params, timeoutMs) { return this.browser.send(method, params, this.sessionId, timeoutMs); }

  // Record console output and uncaught exceptions of one session (page or worker).
  watch(sessionId, prefix) {
    const b = this.browser;
    this.offs.push(
      b.on('Runtime.consoleAPICalled', (p) => this.console.push(`${prefix}[${p.type}] ${p.args.map(show).join(' ')}`), sessionId),
      b.on('Runtime.exceptionThrown', (p) => this.console.push(`${prefix}[exception] ${exceptionText(p.exceptionDetails)}`), sessionId),
      b.on('Log.entryAdded', (p) => this.console.push(`${prefix}[${p.entry.level}] ${p.entry.text}${p.entry.url ? ' ' + p.entry.url : ''}`), sessionId),
      b.on('Inspector.targetCrashed', () => this.console.push(`${prefix}[crash] the page crashed`), sessionId));
  }

  async init() {
    this.watch(this.sessionId, '');
    // Workers are attached automatically and get the same console treatment.
    this.offs.push(this.browser.on('Target.attachedToTarget', ({ sessionId, targetInfo }) => {
      this.watch(sessionId, `${targetInfo.type}: `);
      this.browser.send('Runtime.enable', {}, sessionId).catch(() => {});
    }, this.sessionId));
    await Promise.all(['Page.enable', 'Runtime.enable', 'Log.enable'].map((m) => this.send(m)));
    await this.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: true });
  }

  async goto(url, { timeoutMs = 30000 } = {}) {
    const loaded = this.browser.waitEvent('Page.loadEventFired', { sessionId: this.sessionId, timeoutMs });
    loaded.catch(() => {});
    const { errorText } = await this.send('Page.navigate', { url });
    if (errorText) throw new Error(`navigating to ${url}: ${errorText}`);
    await loaded;
  }

  lastConsole(n = 20) { return this.console.slice(-n).map((l) => '  ' + l).join('\n') || '  (no console output)'; }

  async evaluate(expression, { awaitPromise = true, timeoutMs = 30000 } = {}) {
    const r = await this.send('Runtime.evaluate',
      { expression, awaitPromise, returnByValue: true, userGesture: true }, timeoutMs);
    if (r.exceptionDetails) throw new Error(`page threw: ${exceptionText(r.exceptionDetails)}\n  evaluating: ${expression}`);
    return r.result.unserializableValue ?? r.result.value;
  }

  // Poll `expression` until it is truthy and return its value.
  async waitFor(expression, { timeoutMs = 60000, intervalMs = 100 } = {}) {
    const end = Date.now() + timeoutMs;
    let lastError = '';
    for (;;) {
      try {
        const v = await this.evaluate(expression, { timeoutMs: Math.max(1000, end - Date.now()) });
        if (v) return v;
      } catch (e) { lastError = `\nlast error: ${e.message}`; }
      if (Date.now() >= end) {
        throw new Error(`waitFor timed out after ${timeoutMs} ms: ${expression}${lastError}\nlast console lines:\n${this.lastConsole()}`);
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  // Run fn (source of a function taking the element) on the element matching selector.
  onElement(selector, fn, what) {
    const sel = JSON.stringify(selector);
    return this.evaluate(`(() => { const el = document.querySelector(${sel});
      if (!el) throw new Error(${JSON.stringify(what + ': no element matches ')} + ${sel});
      return (${fn})(el); })()`);
  }

  click(selector) { return this.onElement(selector, 'el => { el.click(); return true; }', 'click'); }

  type(selector, text) {
    return this.onElement(selector, `el => { el.focus(); el.value = ${JSON.stringify(text)};
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true })); return true; }`, 'type');
  }

  // Save a PNG: the viewport, the whole page, or one element.
  async screenshot(file, { selector, fullPage = false } = {}) {
    const params = { format: 'png' };
    if (selector) {
      const r = await this.onElement(selector, `el => { el.scrollIntoView({ block: 'center' });
        const r = el.getBoundingClientRect();
        return { x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height }; }`, 'screenshot');
      if (!r.width || !r.height) throw new Error(`screenshot: ${selector} has an empty box`);
      Object.assign(params, { clip: { ...r, scale: 1 }, captureBeyondViewport: true });
    } else if (fullPage) {
      const { cssContentSize: s } = await this.send('Page.getLayoutMetrics');
      Object.assign(params, { clip: { x: 0, y: 0, width: s.width, height: s.height, scale: 1 }, captureBeyondViewport: true });
    }
    const { data } = await this.send('Page.captureScreenshot', params, 60000);
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, Buffer.from(data, 'base64'));
    return file;
  }

  // Let downloads land in dir; finished ones are queued for waitDownload().
  async setDownloadDir(dir) {
    this.downloadDir = path.resolve(dir);
    fs.mkdirSync(this.downloadDir, { recursive: true });
    const names = new Map();
    const b = this.browser;
    this.offs.push(
      b.on('Browser.downloadWillBegin', (p) => names.set(p.guid, p.suggestedFilename), null),
      b.on('Browser.downloadProgress', (p) => {
        if (p.state === 'inProgress') return;
        const done = { guid: p.guid, state: p.state, filePath: p.filePath, suggestedFilename: names.get(p.guid) };
        const w = this.downloadWaiters.shift();
        if (w) w(done); else this.downloads.push(done);
      }, null));
    await b.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: this.downloadDir, eventsEnabled: true });
  }

  // Resolve with the next finished download (even one that finished earlier).
  async waitDownload(timeoutMs = 30000) {
    if (!this.downloadDir) throw new Error('waitDownload: call setDownloadDir first');
    const next = this.downloads.length ? Promise.resolve(this.downloads.shift())
      : new Promise((resolve) => this.downloadWaiters.push(resolve));
    const d = await withTimeout(next, timeoutMs, 'waiting for a download');
    if (d.state !== 'completed') throw new Error(`download ${d.suggestedFilename ?? d.guid} ${d.state}`);
    // Chromium 156 reports filePath (dir/suggestedFilename); older ones name the
    // file after suggestedFilename or the guid. It may take a moment to appear.
    const candidates = [d.filePath, ...[d.suggestedFilename, d.guid].filter(Boolean).map((n) => path.join(this.downloadDir, n))].filter(Boolean);
    const end = Date.now() + 5000;
    for (;;) {
      const found = candidates.find((f) => fs.existsSync(f));
      if (found) return { path: found, suggestedFilename: d.suggestedFilename };
      if (Date.now() > end) throw new Error(`download completed but none of ${candidates.join(', ')} exists`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async setFileInput(selector, paths) {
    const { root } = await this.send('DOM.getDocument', { depth: 0 });
    const { nodeId } = await this.send('DOM.querySelector', { nodeId: root.nodeId, selector });
    if (!nodeId) throw new Error(`setFileInput: no element matches ${selector}`);
    const files = (Array.isArray(paths) ? paths : [paths]).map((p) => path.resolve(p));
    await this.send('DOM.setFileInputFiles', { nodeId, files });
  }

  async close() {
    for (const off of this.offs) off();
    this.offs = [];
    await this.browser.send('Target.closeTarget', { targetId: this.targetId }, undefined, 5000).catch(() => {});
  }
}
