// worker.js - runs lab.wasm in a Web Worker so the page never freezes. The page posts
// {id, cmd, args}; the worker answers {id, ok, result} or {id, ok: false, error}, and posts
// {type: 'progress', cmd, data} while a long command runs. Training and the Inheritune round run
// step by step and look at their messages between steps, so {cmd: 'stop'} ends them after the
// step in progress (the model keeps what it learnt).
import { Lab } from './lab.js';

let lab = null, stopping = false;
const log = (line) => postMessage({ type: 'log', line });
const ready = Lab.create(fetch(new URL('./lab.wasm', import.meta.url)), { out: log, err: log })
    .then((l) => { lab = l; postMessage({ type: 'ready' }); })
    .catch((e) => postMessage({ type: 'fatal', error: String(e && e.message || e) }));

// let waiting messages (a Stop) in: a zero-delay task, not setTimeout's 4 ms clamp
const channel = new MessageChannel();
let wake = null;
channel.port1.onmessage = () => { const w = wake; wake = null; if (w) w(); };
const yieldNow = () => new Promise((r) => { wake = r; channel.port2.postMessage(0); });
const progress = (cmd, data) => postMessage({ type: 'progress', cmd, data });

const commands = {
    synth: (a) => lab.call('lab_synth', a.tokens, a.valTokens, a.vocab, a.seed),
    text(a) {
        lab.fs.write('/lab/input/' + a.name.replace(/[^A-Za-z0-9._-]/g, '_'), a.bytes);
        return lab.call('lab_text', '/lab/input/' + a.name.replace(/[^A-Za-z0-9._-]/g, '_'), a.valTokens);
    },
    // a new model, trained step by step: {L, NH, C, maxT, seed, B, T, steps, lr, cosine, warmup,
    // evalEvery, evalBatches, sampleEvery, sampleTokens}
    async train(a) {
        const model = lab.call('lab_model_new', a.L, a.NH, a.C, a.maxT, a.seed);
        progress('train', { kind: 'model', model });
        lab.call('lab_train_begin', a.B, a.T, a.steps, a.lr, a.cosine ? 1 : 0, a.warmup || 0, a.seed, a.evalBatches);
        const t0 = performance.now();
        let last = t0, step = 0, stopped = false;
        const curve = [], vcurve = [];
        while (step < a.steps) {
            const s = lab.call('lab_train_step');
            step = s.step;
            curve.push([s.step, s.loss]);
            const elapsed = (performance.now() - t0) / 1e3;
            progress('train', { kind: 'step', ...s, elapsed, left: elapsed / step * (a.steps - step) });
            const end = step === a.steps || stopping;
            if ((a.evalEvery && step % a.evalEvery === 0) || end) {
                const v = lab.call('lab_eval');
                vcurve.push([step, v.val_loss]);
                progress('train', { kind: 'val', step, ...v });
            }
            if (a.sampleEvery && (step % a.sampleEvery === 0 || end))
                progress('train', { kind: 'sample', step, ...lab.call('lab_sample', a.sampleTokens || 64, 1.0, step) });
            if (stopping) { stopped = true; break; }
            if (performance.now() - last > 30) { await yieldNow(); last = performance.now(); }
        }
        return { model, steps: step, stopped, curve, vcurve, seconds: (performance.now() - t0) / 1e3 };
    },
    settings: (a) => lab.call('lab_settings', a.B, a.T, a.evalBatches, a.lr),
    eval: () => lab.call('lab_eval'),
    sample: (a) => lab.call('lab_sample', a.tokens, a.temperature, a.seed),
    analyze(a) {
        const r = lab.call('lab_analyze', a.seqs, a.T, a.seed, a.baseline ? 1 : 0, a.baselineSeed);
        return { ...r, json: JSON.parse(lab.fs.readText(r.json)), html: lab.fs.readText(r.html) };
    },
    drop: (a) => lab.call('lab_drop', a.spec),
    sweep(a) {
        const r = lab.call('lab_sweep', a.repeats);
        return { svg: lab.fs.readText(r.svg), json: JSON.parse(lab.fs.readText(r.json)) };
    },
    // an Inheritune round: {layers, steps, seed, evalEvery}
    async round(a) {
        const info = lab.call('lab_round_begin', a.layers, a.steps, a.seed);
        progress('round', { kind: 'begin', ...info });
        let step = 0, last = performance.now(), stopped = false;
        const ev = lab.call('lab_round_eval');
        progress('round', { kind: 'val', ...ev });
        const vals = [ev];
        while (step < a.steps) {
            const s = lab.call('lab_round_step');
            step = s.step;
            progress('round', { kind: 'step', ...s });
            if ((a.evalEvery && step % a.evalEvery === 0) || step === a.steps || stopping) {
                const v = lab.call('lab_round_eval');
                vals.push(v);
                progress('round', { kind: 'val', ...v });
            }
            if (stopping) { stopped = true; break; }
            if (performance.now() - last > 30) { await yieldNow(); last = performance.now(); }
        }
        return { ...info, stopped, vals, final: vals[vals.length - 1] };
    },
    save() {
        lab.fs.mkdirs('/lab/out');
        lab.call('lab_model_save', '/lab/out/model.bin');
        const bytes = lab.fs.read('/lab/out/model.bin');
        lab.fs.remove('/lab/out/model.bin');
        return { bytes };
    },
    // files: [{name, bytes}]: a .bin (llm.c or ours), or model.safetensors with its config.json
    load(a) {
        const dir = '/lab/upload/' + Date.now();
        let main = null;
        for (const f of a.files) {
            const name = f.name.replace(/[^A-Za-z0-9._-]/g, '_');
            lab.fs.write(dir + '/' + name, f.bytes);
            if (!/\.json$/i.test(name)) main = dir + '/' + name;
        }
        if (!main) throw new Error('choose a model file (.bin or .safetensors; config.json goes with a .safetensors)');
        return lab.call('lab_model_load', main);
    },
    bench: (a) => lab.call('lab_bench', a.steps, a.L, a.NH, a.C, a.V, a.B, a.T),
};

let queue = Promise.resolve();
onmessage = (e) => {
    const { id, cmd, args } = e.data;
    if (cmd === 'stop') { stopping = true; return; }
    queue = queue.then(async () => {   // one command at a time, in order
        await ready;
        if (!lab) { postMessage({ id, ok: false, error: 'the WebAssembly module did not load' }); return; }
        stopping = false;
        try {
            const fn = commands[cmd];
            if (!fn) throw new Error(`unknown command ${cmd}`);
            const result = await fn(args || {});
            postMessage({ id, ok: true, result }, result && result.bytes ? [result.bytes.buffer] : []);
        } catch (err) {
            postMessage({ id, ok: false, error: String(err && err.message || err) });
        }
    });
};
