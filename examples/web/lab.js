// lab.js - lab.wasm (examples/web/lab.c) as a JavaScript object: strings in, JSON results out,
// files through the memory file system. Used by the page's worker (worker.js) and by node.
import { MemFS, Wasi } from './wasi.js';

export class Lab {
    // bytes: lab.wasm's bytes (or a Response for streaming compilation)
    static async create(bytes, { out = () => {}, err = () => {} } = {}) {
        bytes = await bytes;   // a fetch() promise is fine too
        const lab = new Lab();
        lab.fs = new MemFS();
        lab.fs.mkdirs('/lab');
        lab.wasi = new Wasi(lab.fs, { out, err });
        const { instance } = bytes instanceof Response
            ? await WebAssembly.instantiateStreaming(bytes, lab.wasi.imports)
            : await WebAssembly.instantiate(bytes, lab.wasi.imports);
        lab.x = instance.exports;
        lab.wasi.start(instance);
        return lab;
    }
    cstr(s) {   // a NUL-terminated copy of s in the module's memory (free with x.lab_free)
        const b = new TextEncoder().encode(String(s)), p = this.x.lab_alloc(b.length + 1);
        const mem = new Uint8Array(this.x.memory.buffer);
        mem.set(b, p);
        mem[p + b.length] = 0;
        return p;
    }
    text(ptr) {
        const mem = new Uint8Array(this.x.memory.buffer);
        let e = ptr;
        while (mem[e]) e++;
        return new TextDecoder().decode(mem.subarray(ptr, e));
    }
    // call('lab_synth', 1000, 100, 64, 1): numbers pass as they are, strings as C strings;
    // returns the call's JSON result, or throws its error message
    call(name, ...args) {
        const fn = this.x[name];
        if (!fn) throw new Error(`lab.wasm has no ${name}`);
        const ptrs = [], a = args.map((v) => (typeof v === 'string' ? (ptrs.push(this.cstr(v)), ptrs[ptrs.length - 1]) : v));
        let rc;
        try { rc = fn(...a); } finally { for (const p of ptrs) this.x.lab_free(p); this.wasi.flush(); }
        if (rc !== 0) throw new Error(this.text(this.x.lab_error()) || `${name} failed`);
        return JSON.parse(this.text(this.x.lab_result()));
    }
}
