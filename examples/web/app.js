// app.js - the page: reads the forms, sends commands to the worker (worker.js), draws what comes
// back. Everything the page knows is in `state` (window.labPage), which make test-web reads too.
const $ = (id) => document.getElementById(id);
const num = (id) => Number($(id).value);
const state = window.labPage = {
    ready: false, busy: false, data: null, model: null, trained: false,
    curve: [], vcurve: [], samples: [], train: null, analysis: null, drops: [], sweep: null,
    round: null, roundCurves: { inherit: [], random: [], reference: [] }, bench: null, loaded: null, errors: [],
};

// --- the worker ----------------------------------------------------------------------------------
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
let nextId = 1;
const pending = new Map(), listeners = {};
worker.onmessage = (e) => {
    const m = e.data;
    if (m.type === 'ready') { state.ready = true; setStatus('Ready: choose data and press “Use this data”.'); refresh(); return; }
    if (m.type === 'fatal') { setStatus('The WebAssembly module could not start: ' + m.error, true); return; }
    if (m.type === 'log') { log(m.line); return; }
    if (m.type === 'progress') { (listeners[m.cmd] || (() => {}))(m.data); return; }
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result); else p.reject(new Error(m.error));
};
worker.onerror = (e) => setStatus('The worker failed: ' + (e.message || e), true);
function send(cmd, args, transfer = []) {
    const id = nextId++;
    return new Promise((resolve, reject) => { pending.set(id, { resolve, reject }); worker.postMessage({ id, cmd, args }, transfer); });
}
// one job at a time; its errors go to the status line and the panel's note
async function job(what, fn, noteId) {
    if (state.busy) return;
    state.busy = true; refresh();
    setStatus(what + '…');
    try {
        const r = await fn();
        setStatus(what + ': done.');
        return r;
    } catch (err) {
        state.errors.push(String(err.message || err));
        setStatus(what + ' failed: ' + err.message, true);
        if (noteId) { $(noteId).textContent = err.message; $(noteId).classList.add('error'); }
    } finally {
        state.busy = false; refresh();
    }
}

// --- small helpers -------------------------------------------------------------------------------
function setStatus(text, error = false) { const s = $('status'); s.textContent = text; s.classList.toggle('error', error); }
function log(line) { const l = $('log'); l.textContent += line + '\n'; if (l.textContent.length > 100000) l.textContent = l.textContent.slice(-50000); }
const fmt = (v, d = 4) => (v === null || v === undefined || !isFinite(v) ? '–' : Number(v).toFixed(d));
const si = (v) => (v >= 1e6 ? (v / 1e6).toFixed(2) + 'M' : v >= 1e3 ? (v / 1e3).toFixed(1) + 'k' : String(Math.round(v)));
function duration(s) { s = Math.max(0, Math.round(s)); return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`; }
function note(id, text) { $(id).textContent = text; $(id).classList.remove('error'); }
function refresh() {   // which buttons can be pressed now
    const idle = state.ready && !state.busy, model = !!state.model;
    $('btn-data').disabled = !idle;
    $('btn-train').disabled = !idle || !state.data;
    $('btn-stop').disabled = !(state.busy && state.running === 'train');
    $('btn-round-stop').disabled = !(state.busy && state.running === 'round');
    for (const id of ['btn-analyze', 'btn-drop', 'btn-drop-auto', 'btn-sweep', 'btn-round', 'btn-download'])
        $(id).disabled = !idle || !model || !state.data;
    $('file-model').disabled = !idle || !state.data;
    $('btn-download').disabled = !idle || !model;
    $('btn-bench').disabled = !idle;
}

// nice ticks: 1, 2 or 5 x 10^k, about n of them over [lo, hi]
function ticks(lo, hi, n) {
    const span = hi - lo || 1, raw = span / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
    return out;
}
// a line chart: series [{name, color, points: [[x, y]...], dots, dashed}]
function chart(svg, series, { xLabel = 'step', yLabel = 'loss', xMax } = {}) {
    const W = 640, H = 300, x0 = 56, y0 = 16, pw = W - x0 - 16, ph = H - y0 - 46;
    const all = series.flatMap((s) => s.points).filter((p) => isFinite(p[1]));
    let parts = [];
    if (!all.length) { svg.innerHTML = `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#888" font-size="14">no points yet</text>`; return; }
    let lo = Math.min(...all.map((p) => p[1])), hi = Math.max(...all.map((p) => p[1]));
    if (hi - lo < 1e-6) { lo -= 0.5; hi += 0.5; }
    const pad = (hi - lo) * 0.06; lo -= pad; hi += pad;
    const xm = Math.max(xMax || 0, ...all.map((p) => p[0]), 1);
    const X = (x) => x0 + pw * x / xm, Y = (y) => y0 + ph - ph * (y - lo) / (hi - lo);
    for (const t of ticks(lo, hi, 6))
        parts.push(`<line x1="${x0}" x2="${x0 + pw}" y1="${Y(t)}" y2="${Y(t)}" stroke="#e3e6ea"/><text x="${x0 - 6}" y="${Y(t) + 4}" font-size="11" text-anchor="end">${t}</text>`);
    for (const t of ticks(0, xm, 8))
        parts.push(`<text x="${X(t)}" y="${y0 + ph + 16}" font-size="11" text-anchor="middle">${t}</text>`);
    parts.push(`<line x1="${x0}" x2="${x0 + pw}" y1="${y0 + ph}" y2="${y0 + ph}" stroke="#333"/><line x1="${x0}" x2="${x0}" y1="${y0}" y2="${y0 + ph}" stroke="#333"/>`);
    parts.push(`<text x="${x0 + pw / 2}" y="${H - 12}" font-size="12" text-anchor="middle">${xLabel}</text>`);
    parts.push(`<text x="14" y="${y0 + ph / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${y0 + ph / 2})">${yLabel}</text>`);
    let lx = x0 + 8;
    for (const s of series) {
        const pts = s.points.filter((p) => isFinite(p[1]));
        if (pts.length > 1 && !s.dots)
            parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.6" ${s.dashed ? 'stroke-dasharray="6 4"' : ''} points="${pts.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ')}"/>`);
        if (s.dots || pts.length === 1)
            for (const p of pts) parts.push(`<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3.5" fill="${s.color}"><title>step ${p[0]}: ${fmt(p[1])}</title></circle>`);
        parts.push(`<rect x="${lx}" y="${y0 + 4}" width="12" height="4" fill="${s.color}"/><text x="${lx + 16}" y="${y0 + 10}" font-size="11">${s.name}</text>`);
        lx += 30 + 7 * s.name.length;
    }
    svg.innerHTML = parts.join('\n');
}
const readFile = (file) => new Promise((res, rej) => { const r = new FileReader(); r.onload = () => res(new Uint8Array(r.result)); r.onerror = () => rej(r.error); r.readAsArrayBuffer(file); });

// --- 1. data -------------------------------------------------------------------------------------
let droppedText = null;   // {name, bytes} of a file dropped or chosen
for (const r of document.querySelectorAll('input[name=source]'))
    r.addEventListener('change', () => { $('synth-opts').hidden = !$('data-synth').checked; $('text-opts').hidden = !$('data-text').checked; });
const ta = $('text-input');
ta.addEventListener('dragover', (e) => { e.preventDefault(); ta.classList.add('dragover'); });
ta.addEventListener('dragleave', () => ta.classList.remove('dragover'));
ta.addEventListener('drop', async (e) => {
    e.preventDefault(); ta.classList.remove('dragover');
    const f = e.dataTransfer.files[0];
    if (f) await takeTextFile(f);
});
$('text-file').addEventListener('change', async () => { if ($('text-file').files[0]) await takeTextFile($('text-file').files[0]); });
async function takeTextFile(f) {
    droppedText = { name: f.name, bytes: await readFile(f) };
    ta.value = new TextDecoder().decode(droppedText.bytes.subarray(0, 4000)) + (droppedText.bytes.length > 4000 ? '\n…' : '');
    note('data-status', `${f.name}: ${si(droppedText.bytes.length)} bytes, ready: press “Use this data”.`);
}
ta.addEventListener('input', () => { droppedText = null; });
$('btn-data').addEventListener('click', () => job('Making the data', async () => {
    let d;
    if ($('data-synth').checked)
        d = await send('synth', { tokens: num('synth-tokens'), valTokens: num('synth-val'), vocab: num('synth-vocab'), seed: num('synth-seed') });
    else {
        const src = droppedText || { name: 'pasted.txt', bytes: new TextEncoder().encode(ta.value) };
        if (!src.bytes.length) throw new Error('the text is empty: paste a text or drop a .txt file first');
        d = await send('text', { name: src.name, bytes: src.bytes, valTokens: num('text-val') });
        d.name = src.name;
    }
    state.data = d; state.model = null; state.trained = false;
    note('data-status', `${si(d.train_tokens)} training and ${si(d.val_tokens)} validation tokens, vocabulary ${d.V}` +
        ($('data-synth').checked ? ' (made-up corpus).' : ` (bytes of ${d.name}).`));
}, 'data-status'));

// --- 2. training ---------------------------------------------------------------------------------
function trainArgs() {
    const lr = Number($('t-lr').value);
    if (!(lr > 0)) throw new Error(`learning rate: a positive number, not "${$('t-lr').value}"`);
    return { L: num('m-layers'), NH: num('m-heads'), C: num('m-dim'), maxT: num('m-maxt'), seed: num('t-seed'), B: num('t-batch'),
             T: num('t-seq'), steps: num('t-steps'), lr, warmup: num('t-warmup'), cosine: $('t-cosine').checked, evalEvery: num('t-eval-every'),
             evalBatches: num('t-eval-batches'), sampleEvery: num('t-sample-every'), sampleTokens: 96 };
}
function drawLoss() {
    chart($('loss-chart'), [{ name: 'training', color: '#2e62b8', points: state.curve },
                            { name: 'validation', color: '#e8740c', points: state.vcurve, dots: true }], { xMax: state.train ? state.train.steps : 0 });
}
listeners.train = (d) => {
    if (d.kind === 'model') { state.model = d.model; layerBoxes(); return; }
    if (d.kind === 'step') {
        state.curve.push([d.step, d.loss]);
        state.lastStep = d;
        const v = state.vcurve.length ? state.vcurve[state.vcurve.length - 1][1] : NaN;
        $('train-stats').textContent = `step ${d.step}/${state.train.steps} · loss ${fmt(d.loss)} · validation ${fmt(v)} · ` +
            `${si(d.tokens_per_s)} tokens/s · ${fmt(d.step / d.elapsed, 1)} steps/s · ${duration(d.left)} left`;
    } else if (d.kind === 'val') state.vcurve.push([d.step, d.val_loss]);
    else if (d.kind === 'sample') {
        state.samples.push(d);
        const pre = document.createElement('pre');
        pre.textContent = `step ${d.step}: ` + (d.text !== undefined ? d.text : d.ids.join(' '));
        $('samples').prepend(pre);
        while ($('samples').children.length > 4) $('samples').lastChild.remove();
    }
    if (!state.drawPending) { state.drawPending = true; requestAnimationFrame(() => { state.drawPending = false; drawLoss(); }); }
};
$('btn-train').addEventListener('click', () => {
    let args;
    try { args = trainArgs(); } catch (e) { setStatus(e.message, true); return; }
    state.train = args; state.loaded = null; state.curve = []; state.vcurve = []; state.samples = []; state.trained = false;
    state.analysis = null; state.drops = []; $('drop-table').hidden = true; $('drop-table').tBodies[0].innerHTML = '';
    $('samples').innerHTML = ''; $('train-stats').textContent = '';
    state.running = 'train';
    job('Training', async () => {
        const r = await send('train', args);
        state.trainResult = r; state.trained = true; state.curve = r.curve; state.vcurve = r.vcurve;
        drawLoss();
        const last = state.vcurve[state.vcurve.length - 1];
        $('train-stats').textContent += r.stopped ? ` · stopped at step ${r.steps}` : ` · done in ${duration(r.seconds)}`;
        if (last) $('train-stats').textContent += ` · final validation loss ${fmt(last[1])}`;
        $('r-layers').value = Math.max(1, Math.floor(args.L / 2));
        $('r-steps').value = args.steps;
        $('a-T').value = Math.min(num('a-T'), args.maxT);
    }).finally(() => { state.running = null; refresh(); });
    refresh();
});
$('btn-stop').addEventListener('click', () => { worker.postMessage({ cmd: 'stop' }); setStatus('Stopping after this step…'); });

// --- 3. analysis ---------------------------------------------------------------------------------
$('btn-analyze').addEventListener('click', () => job('Analysing', async () => {
    const T = Math.min(num('a-T'), state.model.maxT);
    const r = await send('analyze', { seqs: num('a-seqs'), T, seed: 1337, baseline: $('a-baseline').checked, baselineSeed: 1337 });
    state.analysis = r;
    const body = $('analysis-table').tBodies[0];
    body.innerHTML = '';
    for (const l of r.json.layers) {
        const tr = document.createElement('tr');
        if (l.lazy) tr.className = 'lazy';
        const base = l.baseline_max_rank === undefined ? '–' : fmt(l.baseline_max_rank, 2);
        tr.innerHTML = `<td>${l.layer}</td><td>${fmt(l.max_rank, 2)}</td><td>${base}</td><td>${fmt(l.avg_mass, 1)}</td><td>${l.lazy ? 'yes' : 'no'}</td>`;
        body.appendChild(tr);
    }
    $('analysis-table').hidden = false;
    const frame = $('analysis-report');
    frame.hidden = false;
    frame.onload = () => { try { frame.style.height = (frame.contentDocument.documentElement.scrollHeight + 20) + 'px'; } catch (e) { /* sized by CSS */ } };
    frame.srcdoc = r.html.replace('</head>', '<style>svg{max-width:100%;height:auto}body{margin:8px}</style></head>');
}));

// --- 4. dropping attention -----------------------------------------------------------------------
function layerBoxes() {
    const box = $('drop-layers');
    box.innerHTML = '';
    for (let l = 0; l < state.model.L; l++) {
        const lab = document.createElement('label');
        lab.className = 'check';
        lab.innerHTML = `<input type="checkbox" value="${l}"> layer ${l}`;
        box.appendChild(lab);
    }
    $('drop-k').max = state.model.L;
}
function checkedLayers() { return [...$('drop-layers').querySelectorAll('input:checked')].map((c) => Number(c.value)); }
async function evalDrop(spec, label) {
    await ensureSettings();
    if (!state.drops.length && spec !== '') state.drops.push({ label: 'none', ...(await send('drop', { spec: '' })) });
    const r = await send('drop', { spec });
    state.drops.push({ label, ...r });
    const base = state.drops[0], body = $('drop-table').tBodies[0];
    body.innerHTML = '';
    for (const d of state.drops) {
        const tr = document.createElement('tr');
        tr.innerHTML = `<td>${d.label}</td><td>${fmt(d.val_loss)}</td><td>${si(d.tokens_per_s)}</td><td>${fmt(d.tokens_per_s / base.tokens_per_s, 2)}x</td>`;
        body.appendChild(tr);
    }
    $('drop-table').hidden = false;
    await send('drop', { spec: '' });   // the model itself keeps every layer
}
// the evaluation shape: the training's, or for a loaded model the form's (T at most its context)
async function ensureSettings() {
    if (state.trained && !state.loaded) return;
    const lr = Number($('t-lr').value) || 3e-3;
    await send('settings', { B: num('t-batch'), T: Math.min(num('t-seq'), state.model.maxT), evalBatches: num('t-eval-batches'), lr });
}
$('btn-drop').addEventListener('click', () => job('Evaluating', async () => {
    const layers = checkedLayers();
    await evalDrop(layers.join(','), layers.length ? 'layers ' + layers.join(', ') : 'none');
}));
$('btn-drop-auto').addEventListener('click', () => job('Evaluating', async () => {
    const k = num('drop-k');
    await evalDrop(`auto:${k}`, `${k} least important`);
}));
$('btn-sweep').addEventListener('click', () => job('Sweeping', async () => {
    await ensureSettings();
    const r = await send('sweep', { repeats: 3 });
    state.sweep = r.json;
    $('sweep-view').innerHTML = r.svg;
}));

// --- 5. Inheritune round -------------------------------------------------------------------------
function drawRound() {
    const c = state.roundCurves;
    chart($('round-chart'), [{ name: 'inherited', color: '#1e8a4c', points: c.inherit }, { name: 'random init', color: '#8a8f98', points: c.random },
                             { name: 'trained model', color: '#2e62b8', points: c.reference, dashed: true }], { xMax: state.roundSteps, yLabel: 'validation loss' });
}
listeners.round = (d) => {
    if (d.kind === 'val') {
        const c = state.roundCurves;
        c.inherit.push([d.step, d.inherit]); c.random.push([d.step, d.random]); c.reference.push([d.step, d.reference]);
        drawRound();
        $('round-result').textContent = `step ${d.step}: inherited ${fmt(d.inherit)} · random init ${fmt(d.random)} · the trained model ${fmt(d.reference)}`;
    }
};
$('btn-round').addEventListener('click', () => {
    state.roundCurves = { inherit: [], random: [], reference: [] };
    state.roundSteps = num('r-steps');
    state.running = 'round';
    job('Running the Inheritune round', async () => {
        await ensureSettings();
        const r = await send('round', { layers: num('r-layers'), steps: num('r-steps'), seed: num('t-seed'), evalEvery: num('r-eval-every') });
        state.round = r;
        const f = r.final;
        $('round-result').textContent = `${r.layers} of ${state.model.L} layers, ${f.step} steps${r.stopped ? ' (stopped)' : ''}: inherited ${fmt(f.inherit)}, ` +
            `random init ${fmt(f.random)}, the trained model ${fmt(f.reference)}. ` +
            (f.inherit < f.random ? `Inheriting saved ${fmt(f.random - f.inherit, 3)} in loss at the same size and steps.` : 'Here the random initialisation did as well: try more steps or a longer-trained model.');
    }).finally(() => { state.running = null; refresh(); });
    refresh();
});
$('btn-round-stop').addEventListener('click', () => { worker.postMessage({ cmd: 'stop' }); setStatus('Stopping after this step…'); });

// --- 6. files ------------------------------------------------------------------------------------
$('btn-download').addEventListener('click', () => job('Saving the model', async () => {
    const r = await send('save', {});
    const m = state.model, a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([r.bytes], { type: 'application/octet-stream' }));
    a.download = `inheritune-L${m.L}-C${m.C}-V${m.V}.bin`;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    note('files-status', `${a.download}: ${si(r.bytes.length)} bytes.`);
}, 'files-status'));
$('file-model').addEventListener('change', () => job('Loading the model', async () => {
    const files = [];
    for (const f of $('file-model').files) files.push({ name: f.name, bytes: await readFile(f) });
    const m = await send('load', { files }, files.map((f) => f.bytes.buffer));
    state.model = m; state.loaded = files.map((f) => f.name).join(', '); state.trained = false; state.drops = [];
    layerBoxes();
    $('r-layers').value = Math.max(1, Math.floor(m.L / 2));
    note('files-status', `loaded ${state.loaded}: ${m.L} layers, ${m.NH} heads, ${m.C} channels, context ${m.maxT}, vocabulary ${m.V}, ${si(m.params)} parameters.`);
    $('file-model').value = '';
}, 'files-status'));

// --- 7. speed ------------------------------------------------------------------------------------
$('btn-bench').addEventListener('click', () => job('Measuring', async () => {
    const r = await send('bench', { steps: 7, L: 4, NH: 4, C: 128, V: 257, B: 16, T: 128 });
    state.bench = r;
    $('bench-result').textContent = `${fmt(r.ms, 1)} ms per step · ${fmt(r.gflops, 2)} GFLOP/s · ${si(r.tokens_per_s)} tokens/s · ` +
        `this browser's ${r.isa} limit ${fmt(r.peak_gflops, 1)} GFLOP/s: the step runs at ${fmt(100 * r.share, 1)}% of it`;
}));

refresh();
drawLoss();
drawRound();
