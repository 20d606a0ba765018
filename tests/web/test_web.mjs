// tests/web/test_web.mjs (make test-web): the page of build/web in headless chromium, driven as a
// student would use it (forms and buttons), checked against the native tool on the same data and
// seed: the training losses (1e-4) and the curve's points, MaxRank per layer against `analyze
// --json` (1e-3), the loss with one layer's attention dropped against `eval --drop-attn` (1e-4),
// the downloaded model evaluated natively to the page's loss (1e-4), a model uploaded back, the
// drop sweep, an Inheritune round, a pasted text, the speed figures; a screenshot of every panel
// goes to build/web-shots/. Closing line: "N passed, N failed".
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { serve, launch, withTimeout } from './browser.mjs';

const root = resolve(new URL('../..', import.meta.url).pathname);
const web = join(root, 'build/web'), shots = join(root, 'build/web-shots'), work = join(root, 'build/web-test');
const tool = join(root, 'build/inheritune');
const which = (cmd) => { try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'pipe' }); return true; } catch { return false; } };
if (!which(process.env.CHROMIUM || 'chromium')) {
    console.log('skip: test-web: chromium not found (apt-get install chromium)');
    process.exit(0);
}
for (const f of ['index.html', 'lab.wasm', 'app.js', 'worker.js'])
    if (!existsSync(join(web, f))) { console.log(`test-web: build/web/${f} is missing: run make web`); process.exit(1); }

let pass = 0, fail = 0;
const check = (ok, what) => { if (ok) { pass++; console.log(`ok - ${what}`); } else { fail++; console.log(`not ok - ${what}`); } };
const near = (a, b, tol) => Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= tol;
const run = (...args) => execFileSync(tool, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const lossOf = (out) => Number((out.match(/^loss ([0-9.]+) over/m) || [])[1]);

rmSync(work, { recursive: true, force: true });
rmSync(shots, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
mkdirSync(shots, { recursive: true });

// the native run the page must match: the synthetic corpus (synth's defaults are the page's) and 30 steps
const D = join(work, 'd'), B = 4, T = 32, STEPS = 30, EB = 10;
run('synth', '--out', D);
const TRAIN = ['--layers', '2', '--heads', '2', '--dim', '32', '--seq-max', '64', '--batch', String(B), '--seq', String(T), '--steps', String(STEPS),
               '--lr', '1e-3', '--warmup', '5', '--seed', '7', '--eval-every', '10', '--eval-batches', String(EB), '--threads', '1'];
const nat = run('train', '--data', join(D, 'train.bin'), '--val', join(D, 'val.bin'), ...TRAIN, '--out', join(work, 'native.bin'));
const natLoss = [...nat.matchAll(/^step (\d+) loss ([0-9.]+)/gm)].map((m) => [Number(m[1]), Number(m[2])]);
const natVal = [...nat.matchAll(/^step (\d+) val_loss ([0-9.]+)/gm)].map((m) => [Number(m[1]), Number(m[2])]);

const server = await serve(web);
const browser = await launch({ windowSize: [1280, 1000] });
let page;
try {
    page = await browser.newPage(server.url);
    const set = async (fields) => {
        for (const [id, v] of Object.entries(fields)) await page.type('#' + id, String(v));
    };
    const shot = async (panel) => page.screenshot(join(shots, panel + '.png'), { selector: '#panel-' + panel });
    const S = (expr) => page.evaluate(`window.labPage.${expr}`);
    const idle = () => page.waitFor('window.labPage.ready && !window.labPage.busy', { timeoutMs: 120000 });
    const errors = async () => (await S('errors')) || [];

    await idle();
    check(true, 'the page loads and its worker starts lab.wasm');

    // 1. data: the made-up corpus with synth's defaults
    await page.click('#btn-data');
    await idle();
    const data = await S('data');
    check(data && data.train_tokens === 400000 && data.val_tokens === 40000 && data.V === 64,
          `the synthetic corpus: 400000 + 40000 tokens, V=64 (${JSON.stringify(data)})`);
    await shot('data');

    // 2. training: 30 steps, the same losses as the native tool
    await set({ 'm-layers': 2, 'm-heads': 2, 'm-dim': 32, 'm-maxt': 64, 't-batch': B, 't-seq': T, 't-steps': STEPS, 't-lr': '1e-3', 't-warmup': 5,
                't-seed': 7, 't-eval-every': 10, 't-eval-batches': EB, 't-sample-every': 10 });
    await page.click('#btn-train');
    await page.waitFor('window.labPage.trained', { timeoutMs: 120000 });
    await idle();
    const curve = await S('curve'), vcurve = await S('vcurve');
    check(curve.length === STEPS && natLoss.length === STEPS, `the curve has ${STEPS} training points (${curve.length}; native ${natLoss.length})`);
    const worst = Math.max(...curve.map((p, i) => (natLoss[i] && natLoss[i][0] === p[0] ? Math.abs(p[1] - natLoss[i][1]) : Infinity)));
    check(worst <= 1e-4, `every training loss equals the native tool's within 1e-4 (largest difference ${worst.toExponential(2)})`);
    const vworst = Math.max(...natVal.map(([s, l]) => { const p = vcurve.find((q) => q[0] === s); return p ? Math.abs(p[1] - l) : Infinity; }));
    check(natVal.length === 3 && vworst <= 1e-4, `the validation losses at steps 10, 20, 30 equal the native ones within 1e-4 (${vworst.toExponential(2)})`);
    const drawn = await page.evaluate(`(document.querySelector('#loss-chart polyline')?.getAttribute('points') || '').trim().split(/\\s+/).length`);
    check(drawn === STEPS, `the loss chart draws ${STEPS} points (${drawn})`);
    check((await page.evaluate(`document.querySelectorAll('#loss-chart circle').length`)) === 3, 'the chart shows the 3 validation points');
    check((await S('samples')).length === 3, 'a sample every 10 steps is shown');
    await shot('train');

    // 6. download: the native tool evaluates the page's model to the page's validation loss
    await page.setDownloadDir(work);
    await page.click('#btn-download');
    const dl = await page.waitDownload(30000);
    const pageBin = dl.path;
    const natEval = lossOf(run('eval', '--model', pageBin, '--data', join(D, 'val.bin'), '--batch', String(B), '--seq', String(T), '--batches', String(EB), '--threads', '1'));
    const pageVal = vcurve[vcurve.length - 1][1];
    check(near(natEval, pageVal, 1e-4), `the downloaded model (${dl.suggestedFilename}) evaluates natively to the page's loss within 1e-4 (${natEval} vs ${pageVal})`);
    // ... and PyTorch (examples/torch/model.py) loads it and gives the same loss on the same windows
    const PY = '/usr/bin/python3';
    let torchOk = false;
    try { execFileSync(PY, ['-c', 'import torch'], { stdio: 'pipe' }); torchOk = true; } catch { /* no torch */ }
    if (!torchOk) console.log('skip: the downloaded model in PyTorch: /usr/bin/python3 cannot import torch (apt-get install python3-torch)');
    else {
        const py = ['import sys, numpy as np, torch', `sys.path.insert(0, ${JSON.stringify(join(root, 'examples/torch'))})`, 'import model as M',
                    'cfg, t = M.load_model(sys.argv[1]); val = M.load_shard(sys.argv[2]); B, T, nb = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])',
                    'g = M.GPT(cfg, t).eval(); tot = 0.0',
                    'with torch.no_grad():',
                    '    for b in range(nb):',
                    '        rows = np.stack([np.asarray(val[(b * B + i) * T:(b * B + i) * T + T + 1]).astype(np.int64) for i in range(B)])',
                    '        tot += g(torch.from_numpy(rows[:, :-1]), torch.from_numpy(rows[:, 1:]))[1].item() / (B * T)',
                    'print("torch_loss %.7f" % (tot / nb))'].join('\n');
        const out = execFileSync(PY, ['-c', py, pageBin, join(D, 'val.bin'), String(B), String(T), String(EB)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        const torchLoss = Number((out.match(/torch_loss ([0-9.]+)/) || [])[1]);
        check(near(torchLoss, pageVal, 1e-4), `the downloaded model loads in PyTorch (examples/torch/model.py) and gives the page's loss within 1e-4 (${torchLoss} vs ${pageVal})`);
    }

    // 3. analysis: MaxRank per layer as `analyze --json` of the same model and windows
    await set({ 'a-seqs': 16, 'a-T': 32 });
    await page.click('#btn-analyze');
    await idle();
    const an = await S('analysis');
    const natJson = join(work, 'analysis.json');
    let natArgs = ['analyze', '--model', pageBin, '--data', join(D, 'val.bin'), '--seqs', '16', '--seq-len', '32', '--threads', '1', '--json', natJson];
    const hasBaseline = an && an.json && an.json.layers[0].baseline_max_rank !== undefined;
    if (hasBaseline) natArgs = natArgs.concat(['--baseline', 'random']);
    run(...natArgs);
    const nj = JSON.parse(readFileSync(natJson, 'utf8'));
    const rdiff = Math.max(...nj.layers.map((l, i) => Math.abs(l.max_rank - an.json.layers[i].max_rank)));
    check(an && an.json.layers.length === 2 && rdiff <= 1e-3, `MaxRank per layer equals the native analyze --json within 1e-3 (largest difference ${rdiff})`);
    if (hasBaseline) {
        const bdiff = Math.max(...nj.layers.map((l, i) => Math.abs(l.baseline_max_rank - an.json.layers[i].baseline_max_rank)));
        check(bdiff <= 1e-3, `the random-init baseline MaxRank equals the native one within 1e-3 (${bdiff})`);
    }
    check(/<svg/.test(an.html) && (await page.evaluate(`document.querySelectorAll('#analysis-table tbody tr').length`)) === 2,
          'the analysis shows the report (charts) and a row per layer');
    await page.waitFor(`(document.getElementById('analysis-report').contentDocument || {}).readyState === 'complete'`);
    await shot('analysis');

    // 4. dropping layer 1's attention: the loss of `eval --drop-attn 1`
    await page.evaluate(`document.querySelector('#drop-layers input[value="1"]').checked = true`);
    await page.click('#btn-drop');
    await idle();
    const drops = await S('drops');
    const natNone = lossOf(run('eval', '--model', pageBin, '--data', join(D, 'val.bin'), '--batch', String(B), '--seq', String(T), '--batches', String(EB), '--threads', '1'));
    const natDrop = lossOf(run('eval', '--model', pageBin, '--data', join(D, 'val.bin'), '--batch', String(B), '--seq', String(T), '--batches', String(EB), '--threads', '1', '--drop-attn', '1'));
    check(drops.length === 2 && near(drops[0].val_loss, natNone, 1e-4), `no layer dropped: ${drops[0] && drops[0].val_loss} vs native ${natNone}`);
    check(drops.length === 2 && near(drops[1].val_loss, natDrop, 1e-4) && JSON.stringify(drops[1].dropped) === '[1]',
          `layer 1 dropped: ${drops[1] && drops[1].val_loss} vs native eval --drop-attn 1: ${natDrop}`);
    check(drops.every((d) => d.tokens_per_s > 0), 'each row has a speed');
    await page.click('#btn-sweep');
    await idle();
    const sweep = await S('sweep');
    check(sweep && sweep.curves.length === 2 && sweep.curves.every((c) => c.points.length === 3), 'the sweep has k = 0..2 on both curves');
    await shot('drop');

    // 5. an Inheritune round: 1 of 2 layers, 10 steps
    await set({ 'r-layers': 1, 'r-steps': 10, 'r-eval-every': 5 });
    await page.click('#btn-round');
    await idle();
    const round = await S('round');
    check(round && round.final.step === 10 && [round.final.inherit, round.final.random, round.final.reference].every(Number.isFinite),
          `the round trains both 1-layer models 10 steps (inherited ${round && round.final.inherit}, random ${round && round.final.random})`);
    check((await page.evaluate(`document.querySelectorAll('#round-chart polyline').length`)) === 3, 'the round chart draws three curves');
    await shot('round');

    // upload: the native model, then its loss on the page equals the native one
    await page.setFileInput('#file-model', [join(work, 'native.bin')]);
    await page.waitFor('window.labPage.loaded && !window.labPage.busy', { timeoutMs: 60000 });
    const natOwn = lossOf(run('eval', '--model', join(work, 'native.bin'), '--data', join(D, 'val.bin'), '--batch', String(B), '--seq', String(T), '--batches', String(EB), '--threads', '1'));
    await page.evaluate(`document.querySelectorAll('#drop-layers input').forEach((c) => c.checked = false)`);
    await page.click('#btn-drop');
    await idle();
    const up = await S('drops');
    check(up.length >= 1 && near(up[up.length - 1].val_loss, natOwn, 1e-4), `an uploaded native model evaluates on the page to its native loss (${up.length && up[up.length - 1].val_loss} vs ${natOwn})`);
    await shot('files');

    // upload: a real Hugging Face file (model.safetensors with its config.json), evaluated as natively
    const hf = join(root, '../shared/data/hf_tiny_gpt2');
    if (!existsSync(join(hf, 'model.safetensors'))) console.log('skip: test-web: the Hugging Face upload needs ../shared/data/hf_tiny_gpt2');
    else {
        await page.setFileInput('#file-model', [join(hf, 'model.safetensors'), join(hf, 'config.json')]);
        await page.waitFor(`window.labPage.loaded && window.labPage.loaded.includes('safetensors') && !window.labPage.busy`, { timeoutMs: 60000 });
        const hm = await S('model');
        await page.click('#btn-drop');
        await idle();
        const hd = await S('drops');
        const natHf = lossOf(run('eval', '--model', hf, '--data', join(D, 'val.bin'), '--batch', String(B), '--seq', String(T), '--batches', String(EB), '--threads', '1'));
        check(hm.V === 50257 && hm.L === 2 && hm.C === 2 && near(hd[hd.length - 1].val_loss, natHf, 1e-4),
              `a Hugging Face model.safetensors + config.json uploads (V=${hm.V}, L=${hm.L}, C=${hm.C}) and evaluates to the native loss (${hd[hd.length - 1].val_loss} vs ${natHf})`);
    }

    // 7. speed: the tiny shape against the native single-thread build
    await page.click('#btn-bench');
    await idle();
    const bench = await S('bench');
    check(bench && bench.ms > 0 && bench.peak_gflops > 0 && bench.isa === 'simd128', `the speed panel reports a step time and the SIMD128 peak (${bench && bench.isa})`);
    const nb = run('bench', '--layers', '4', '--heads', '4', '--dim', '128', '--seq-max', '128', '--vocab', '257', '--batch', '16', '--seq', '128', '--steps', '7', '--threads', '1');
    const nms = Number((nb.match(/([0-9.]+) ms\/step/) || [])[1]);
    if (bench) console.log(`speed (tiny shape, B=16 T=128, one thread): chromium ${bench.ms.toFixed(1)} ms/step, ${bench.gflops.toFixed(2)} GFLOP/s = ` +
        `${(100 * bench.share).toFixed(1)}% of its SIMD128 peak ${bench.peak_gflops.toFixed(1)} GFLOP/s; native ${nms} ms/step: the browser takes ${(bench.ms / nms).toFixed(2)}x`);
    await shot('speed');

    // a pasted text: byte tokens, V=257, a text sample
    await page.click('#data-text');
    await page.type('#text-input', 'The quick brown fox jumps over the lazy dog.\n\n'.repeat(400));
    await set({ 'text-val': 2000 });
    await page.click('#btn-data');
    await idle();
    const td = await S('data');
    check(td && td.V === 257 && td.val_tokens === 2000, `a pasted text becomes byte tokens (V=${td && td.V}, ${td && td.val_tokens} validation tokens)`);
    await set({ 't-steps': 5, 't-sample-every': 5, 't-eval-every': 5 });
    await page.click('#btn-train');
    await page.waitFor('window.labPage.trained', { timeoutMs: 60000 });
    await idle();
    const smp = await S('samples');
    check(smp.length === 1 && typeof smp[0].text === 'string', 'a model trained on it samples text');

    // Stop: a long run stops after the step in progress and keeps its curve
    await set({ 't-steps': 100000, 't-sample-every': 0, 't-eval-every': 0 });
    await page.click('#btn-train');
    await page.waitFor('window.labPage.curve.length >= 3');
    await page.click('#btn-stop');
    await page.waitFor('window.labPage.trained', { timeoutMs: 30000 });
    const tr = await S('trainResult');
    check(tr.stopped && tr.steps < 100000 && tr.curve.length === tr.steps, `Stop ends training after the step in progress (${tr.steps} steps)`);

    const errs = await errors();
    check(errs.length === 0, `no errors on the page (${errs.join('; ')})`);
    const origins = await page.evaluate(`[...new Set(performance.getEntriesByType('resource').map((e) => new URL(e.name).origin))]`);
    check(origins.every((o) => o === new URL(server.url).origin), `nothing fetched from anywhere but the page's own server (${origins.join(', ')})`);
    const exc = page.console.filter((l) => /error|exception/i.test(l));
    check(exc.length === 0, `no console errors (${exc.slice(0, 3).join(' | ')})`);
    await page.screenshot(join(shots, 'page.png'), { fullPage: true });
} catch (e) {
    fail++;
    console.log(`not ok - ${e.message}`);
    if (page) {
        console.log(page.console.slice(-10).join('\n'));
        try { console.log('page errors: ' + JSON.stringify(await page.evaluate('window.labPage.errors'))); } catch { /* the page is gone */ }
    }
} finally {
    await browser.close();
    server.close();
}
console.log(`screenshots: ${readdirSync(shots).map((f) => 'build/web-shots/' + f).join(' ')}`);
console.log(`${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
void withTimeout;
