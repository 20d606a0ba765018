// Self-test of browser.mjs: builds a small page in a temporary folder, serves
// it, drives chromium through every driver function and prints ok/not ok lines,
// then "N passed, N failed". Skips (exit 0) when chromium is not installed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import zlib from 'node:zlib';
import { serve, launch, withTimeout } from './browser.mjs';

const onPath = (name) => (process.env.PATH || '').split(':').some((d) => {
  try { fs.accessSync(path.join(d, name), fs.constants.X_OK); return true; } catch { return false; }
});
if (!onPath('chromium')) {
  console.log('skip: web smoke: chromium not found (apt-get install chromium)');
  process.exit(0);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'web-smoke-'));
const site = path.join(tmp, 'site');
fs.mkdirSync(site);
fs.writeFileSync(path.join(tmp, 'secret.txt'), 'outside the site\n');
fs.writeFileSync(path.join(site, 'index.html'), `<!doctype html>
<meta charset="utf-8"><title>smoke</title>
<button id="work">work</button> <span id="result"></span>
<button id="dl">download</button>
<input type="file" id="file"> <span id="size"></span>
<input id="text"> <span id="echo"></span>
<span id="wasm"></span>
<div style="height: 2000px"></div>
<div id="box" style="width: 120px; height: 80px; background: rgb(255, 0, 0)"></div>
<script src="app.js"></script>`);
fs.writeFileSync(path.join(site, 'app.js'), `
const $ = (id) => document.getElementById(id);
$('work').onclick = () => {
  const w = new Worker('worker.js');
  w.onmessage = (e) => { $('result').textContent = e.data; };
  w.postMessage(100000);
};
$('dl').onclick = () => {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([new Uint8Array([1, 2, 3, 4, 5])]));
  a.download = 'x.bin';
  document.body.appendChild(a);
  a.click();
};
$('file').onchange = () => { $('size').textContent = String($('file').files[0].size); };
$('text').oninput = () => { $('echo').textContent = $('text').value; };
WebAssembly.instantiateStreaming(fetch('add.wasm'))
  .then(({ instance }) => { $('wasm').textContent = String(instance.exports.add(2, 40)); });
console.log('app loaded');
`);
fs.writeFileSync(path.join(site, 'worker.js'), `
onmessage = (e) => {
  console.log('worker summing', e.data);
  let s = 0;
  for (let i = 1; i <= e.data; i++) s += i;
  postMessage(String(s));
};`);
// A minimal module exporting add(i32, i32) -> i32, written out by hand.
fs.writeFileSync(path.join(site, 'add.wasm'), Buffer.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, // type: (i32, i32) -> i32
  0x03, 0x02, 0x01, 0x00, // one function of type 0
  0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00, // export "add" = function 0
  0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b, // local.get 0, local.get 1, i32.add
]));
const upload = path.join(tmp, 'upload.bin');
fs.writeFileSync(upload, Buffer.alloc(12345, 7));

let passed = 0, failed = 0;
async function check(name, fn) {
  try {
    await withTimeout(Promise.resolve().then(fn), 60000, name);
    console.log(`ok - ${name}`);
    passed++;
  } catch (e) {
    console.log(`not ok - ${name}\n  ${String(e.stack || e).split('\n').join('\n  ')}`);
    failed++;
  }
}
function assert(cond, what) { if (!cond) throw new Error(what); }

// Raw GET without URL normalisation, to try escaping the served folder.
const rawGet = (port, p) => new Promise((resolve, reject) => {
  http.get({ host: '127.0.0.1', port, path: p }, (res) => {
    let body = '';
    res.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body }));
  }).on('error', reject);
});

// The RGB(A) colour of pixel (x, y) of a PNG made by chromium (8-bit RGB or RGBA).
function pngPixel(buf, x, y) {
  let pos = 8, width, height, bpp;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos), type = buf.toString('latin1', pos + 4, pos + 8), data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') { width = data.readUInt32BE(0); height = data.readUInt32BE(4); bpp = data[9] === 6 ? 4 : 3; }
    if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat)), stride = width * bpp;
  let prev = Buffer.alloc(stride), row;
  for (let r = 0; r <= y; r++) {
    const f = raw[r * (stride + 1)], line = raw.subarray(r * (stride + 1) + 1, (r + 1) * (stride + 1));
    row = Buffer.alloc(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? row[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][f];
      row[i] = (line[i] + pred) & 255;
    }
    prev = row;
  }
  return { width, height, rgb: [...row.subarray(x * bpp, x * bpp + 3)] };
}

// Processes of process group pgid that are still running. Zombies do not
// count: in some containers pid 1 never reaps the orphaned helpers.
function liveInGroup(pgid) {
  if (!fs.existsSync('/proc/self/stat')) return [];
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(pgrp) === pgid && state !== 'Z' && state !== 'X';
    } catch { return false; }
  });
}

// Last resort: never hang, whatever goes wrong (browser.mjs kills chromium on exit).
setTimeout(() => { console.log('not ok - smoke test hung\n0 passed, 1 failed'); process.exit(1); }, 180000).unref();

const started = Date.now();
const server = await serve(site);
let browser, page;

await check('serve: content types, 404, no escape', async () => {
  const wasm = await rawGet(server.port, '/add.wasm');
  assert(wasm.status === 200 && wasm.type === 'application/wasm', `add.wasm: ${wasm.status} ${wasm.type}`);
  const index = await rawGet(server.port, '/');
  assert(index.status === 200 && index.type.startsWith('text/html') && index.body.includes('smoke'), `/: ${index.status} ${index.type}`);
  assert((await rawGet(server.port, '/missing.js')).status === 404, 'missing file is not 404');
  for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%2e%2e%2fsecret.txt']) {
    const r = await rawGet(server.port, p);
    assert(r.status >= 400 && !r.body.includes('outside the site'), `${p} escaped: ${r.status}`);
  }
  server.requests.length = 0;
});

await check('launch: missing executable is a clear error', async () => {
  let err;
  try { await launch({ executable: '/nonexistent/chromium' }); } catch (e) { err = e; }
  assert(err && /not found/.test(err.message), `got ${err && err.message}`);
});

await check('launch + newPage waits for load', async () => {
  browser = await launch();
  assert(fs.existsSync(browser.dataDir), 'no profile dir');
  page = await browser.newPage(server.url);
  assert((await page.evaluate('document.readyState')) === 'complete', 'not loaded');
});

await check('console is collected', () => page.waitFor('true').then(() =>
  withTimeout((async () => { while (!page.console.some((l) => l.includes('app loaded'))) await new Promise((r) => setTimeout(r, 50)); })(), 5000, 'console line')));

await check('evaluate returns values and awaits promises', async () => {
  assert((await page.evaluate('1 + 2')) === 3, '1 + 2');
  assert((await page.evaluate('new Promise((r) => setTimeout(() => r({ a: [1, "x"] }), 10))')).a[1] === 'x', 'promise');
});

await check('evaluate throws with the exception text', async () => {
  let err;
  try { await page.evaluate('null.x'); } catch (e) { err = e; }
  assert(err && /TypeError/.test(err.message), `got ${err && err.message}`);
});

await check('wasm instantiateStreaming (application/wasm)', async () => {
  assert((await page.waitFor("document.getElementById('wasm').textContent", { timeoutMs: 10000 })) === '42', 'add(2, 40)');
});

await check('click starts a worker; waitFor sees its result', async () => {
  await page.click('#work');
  assert((await page.waitFor("document.getElementById('result').textContent", { timeoutMs: 10000 })) === '5000050000', 'sum');
});

await check('worker console is collected', () => withTimeout((async () => {
  while (!page.console.some((l) => l.startsWith('worker: ') && l.includes('worker summing 100000'))) await new Promise((r) => setTimeout(r, 50));
})(), 5000, `worker console line; have:\n${page.lastConsole()}`));

await check('uncaught exceptions are collected', async () => {
  await page.evaluate("setTimeout(() => { throw new Error('deliberate boom'); }, 0)");
  await withTimeout((async () => {
    while (!page.console.some((l) => l.includes('[exception]') && l.includes('deliberate boom'))) await new Promise((r) => setTimeout(r, 50));
  })(), 5000, 'exception line');
});

await check('click on a missing element throws', async () => {
  let err;
  try { await page.click('#nope'); } catch (e) { err = e; }
  assert(err && err.message.includes('#nope'), `got ${err && err.message}`);
});

await check('waitFor timeout names the expression and shows console', async () => {
  let err;
  try { await page.waitFor('window.neverSet === 1', { timeoutMs: 300 }); } catch (e) { err = e; }
  assert(err && err.message.includes('window.neverSet === 1') && err.message.includes('app loaded'), `got ${err && err.message}`);
});

await check('type sets the value and fires input', async () => {
  await page.type('#text', 'héllo');
  assert((await page.evaluate("document.getElementById('echo').textContent")) === 'héllo', 'echo');
});

await check('setFileInput fires change with the file', async () => {
  await page.setFileInput('#file', [upload]);
  assert((await page.waitFor("document.getElementById('size').textContent", { timeoutMs: 5000 })) === '12345', 'size');
});

await check('download of a Blob lands in the download dir', async () => {
  const dir = path.join(tmp, 'downloads');
  await page.setDownloadDir(dir);
  await page.click('#dl');
  const d = await page.waitDownload(10000);
  assert(d.suggestedFilename === 'x.bin', `name ${d.suggestedFilename}`);
  assert(fs.readFileSync(d.path).equals(Buffer.from([1, 2, 3, 4, 5])), `content of ${d.path}`);
});

await check('screenshot of the viewport, the full page and an element', async () => {
  const view = pngPixel(fs.readFileSync(await page.screenshot(path.join(tmp, 'view.png'))), 0, 0);
  assert(view.width === 1280, `viewport width ${view.width}`);
  const full = pngPixel(fs.readFileSync(await page.screenshot(path.join(tmp, 'full.png'), { fullPage: true })), 0, 0);
  assert(full.height > 2000, `full page height ${full.height}`);
  await page.evaluate('scrollTo(0, 0)');
  const box = pngPixel(fs.readFileSync(await page.screenshot(path.join(tmp, 'shots', 'box.png'), { selector: '#box' })), 60, 40);
  assert(box.width === 120 && box.height === 80, `box size ${box.width}x${box.height}`);
  assert(box.rgb.join() === '255,0,0', `box colour ${box.rgb}`);
});

await check('only files of the site were fetched', () => {
  const want = new Set(['/', '/app.js', '/worker.js', '/add.wasm']);
  const extra = server.requests.filter((p) => !want.has(p) && p !== '/favicon.ico');
  assert(extra.length === 0, `unexpected requests: ${extra.join(' ')}`);
  assert(server.requests.includes('/add.wasm'), `requests: ${server.requests.join(' ')}`);
});

await check('close removes the profile and the processes', async () => {
  await page.close();
  const { pid } = browser.child;
  await browser.close();
  assert(!fs.existsSync(browser.dataDir), 'profile dir left');
  const alive = liveInGroup(pid);
  assert(alive.length === 0, `process group ${pid} still has ${alive.join(' ')}`);
});

if (browser) await browser.close();
await server.close();
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`# ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
