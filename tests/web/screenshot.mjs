// node tests/web/screenshot.mjs [TEXT]: the README's picture of the page (examples/web/screenshot.png):
// tiny shakespeare (or TEXT) dropped in, the page's default model trained, analysed with the
// random-init baseline. Needs make web and chromium; prints the training's speed.
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { serve, launch } from './browser.mjs';

const root = resolve(new URL('../..', import.meta.url).pathname);
const text = process.argv[2] || join(root, '../shared/data/corpus/tinyshakespeare.txt');
if (!existsSync(text)) { console.log(`screenshot: ${text} not found: give a text file`); process.exit(1); }
const server = await serve(join(root, 'build/web'));
const browser = await launch({ windowSize: [1100, 900] });
try {
    const page = await browser.newPage(server.url);
    const idle = () => page.waitFor('window.labPage.ready && !window.labPage.busy', { timeoutMs: 300000 });
    await idle();
    await page.click('#data-text');
    await page.setFileInput('#text-file', [text]);
    await page.waitFor(`document.getElementById('data-status').textContent.includes('ready')`);
    await page.click('#btn-data');
    await idle();
    const t0 = Date.now();
    await page.click('#btn-train');
    await page.waitFor('window.labPage.trained', { timeoutMs: 300000 });
    await idle();
    console.log(`trained the default model in ${((Date.now() - t0) / 1e3).toFixed(1)} s: ${await page.evaluate(`document.getElementById('train-stats').textContent`)}`);
    await page.click('#btn-analyze');
    await idle();
    await page.evaluate(`document.querySelector('#panel-data').style.display = 'none'`);
    const out = join(root, 'build/web-shots/readme.png');
    await page.screenshot(out, { selector: '#panel-train' });
    const out2 = join(root, 'build/web-shots/readme-analysis.png');
    await page.screenshot(out2, { selector: '#panel-analysis' });
    console.log(`wrote ${out} ${out2}`);
} finally {
    await browser.close();
    server.close();
}
