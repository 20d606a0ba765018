// wasi.js - the few WASI (preview1) calls lab.wasm makes, over a file system in memory, for a Web
// Worker (and node, for a quick check). The library saves every file through a temporary that it
// renames, lists directories, makes and removes them: all of that happens here in Maps. Standard
// output and error go to callbacks, one line at a time. Nothing is fetched and nothing persists.
const E = { SUCCESS: 0, BADF: 8, EXIST: 20, INVAL: 28, ISDIR: 31, NOENT: 44, NOSYS: 52, NOTDIR: 54, NOTEMPTY: 55 };
const FILETYPE = { CHAR: 2, DIR: 3, FILE: 4 };

export class WasiExit extends Error {
    constructor(code) { super(`exit ${code}`); this.code = code; }
}

export class MemFS {
    constructor() { this.files = new Map(); this.dirs = new Set(['/']); }
    static norm(p) {
        const out = [];
        for (const part of p.split('/')) {
            if (part === '' || part === '.') continue;
            if (part === '..') out.pop(); else out.push(part);
        }
        return '/' + out.join('/');
    }
    static parent(p) { const i = p.lastIndexOf('/'); return i <= 0 ? '/' : p.slice(0, i); }
    mkdirs(p) {
        p = MemFS.norm(p);
        if (p !== '/') this.mkdirs(MemFS.parent(p));
        this.dirs.add(p);
    }
    write(path, bytes) {   // a file the page puts in (an upload, a pasted text)
        path = MemFS.norm(path);
        this.mkdirs(MemFS.parent(path));
        const data = bytes instanceof Uint8Array ? bytes : new TextEncoder().encode(String(bytes));
        this.files.set(path, { data: data.slice(), size: data.length });
    }
    read(path) {           // a file the library wrote (a model, a report): a copy of its bytes
        const f = this.files.get(MemFS.norm(path));
        return f ? f.data.slice(0, f.size) : null;
    }
    readText(path) { const b = this.read(path); return b ? new TextDecoder().decode(b) : null; }
    remove(path) { this.files.delete(MemFS.norm(path)); }
    children(dir) {
        const pre = dir === '/' ? '/' : dir + '/', names = new Set();
        for (const p of [...this.files.keys(), ...this.dirs])
            if (p.startsWith(pre) && p.length > pre.length) names.add(p.slice(pre.length).split('/')[0]);
        return [...names].sort();
    }
}

export class Wasi {
    // fs: a MemFS; out(line), err(line): where standard output and error go
    constructor(fs, { out = () => {}, err = () => {} } = {}) {
        this.fs = fs;
        this.sink = { 1: { fn: out, pend: '' }, 2: { fn: err, pend: '' } };
        this.fds = new Map([[3, { kind: 'dir', path: '/', preopen: true }]]);
        this.next = 4;
        this.memory = null;
        const self = this, impl = this.calls();
        // every other call answers "not supported" rather than failing to link
        this.imports = { wasi_snapshot_preview1: new Proxy(impl, { get: (t, k) => t[k] || (() => E.NOSYS) }) };
        void self;
    }
    start(instance) {      // a reactor: _initialize once, then its exports are called as needed
        this.memory = instance.exports.memory;
        if (instance.exports._initialize) instance.exports._initialize();
    }
    view() { return new DataView(this.memory.buffer); }
    bytes() { return new Uint8Array(this.memory.buffer); }
    str(ptr, len) { return new TextDecoder().decode(this.bytes().subarray(ptr, ptr + len)); }
    path(fd, ptr, len) {
        const d = this.fds.get(fd);
        if (!d || d.kind !== 'dir') return null;
        const p = this.str(ptr, len);
        return MemFS.norm(p.startsWith('/') ? p : d.path + '/' + p);
    }
    flush() { for (const k of [1, 2]) if (this.sink[k].pend) { this.sink[k].fn(this.sink[k].pend); this.sink[k].pend = ''; } }
    calls() {
        const fs = this.fs;
        const u32 = (p, v) => this.view().setUint32(p, v, true);
        const u64 = (p, v) => this.view().setBigUint64(p, BigInt(v), true);
        const iovs = (ptr, n) => {
            const v = this.view(), list = [];
            for (let i = 0; i < n; i++) list.push([v.getUint32(ptr + 8 * i, true), v.getUint32(ptr + 8 * i + 4, true)]);
            return list;
        };
        const grow = (f, need) => {
            if (need <= f.data.length) return;
            const nd = new Uint8Array(Math.max(need, 2 * f.data.length, 4096));
            nd.set(f.data.subarray(0, f.size));
            f.data = nd;
        };
        const stat = (buf, type, size) => {
            new Uint8Array(this.memory.buffer, buf, 64).fill(0);
            this.view().setUint8(buf + 16, type);
            u64(buf + 24, 1);
            u64(buf + 32, size);
        };
        return {
            args_sizes_get: (argc, size) => { u32(argc, 0); u32(size, 0); return 0; },
            args_get: () => 0,
            environ_sizes_get: (n, size) => { u32(n, 0); u32(size, 0); return 0; },
            environ_get: () => 0,
            clock_res_get: (id, res) => { u64(res, 1000); return 0; },
            clock_time_get: (id, prec, out) => {
                const ns = id === 0 ? BigInt(Date.now()) * 1000000n : BigInt(Math.round(performance.now() * 1e6));
                this.view().setBigUint64(out, ns, true);
                return 0;
            },
            random_get: (buf, len) => { crypto.getRandomValues(new Uint8Array(this.memory.buffer, buf, len)); return 0; },
            proc_exit: (code) => { this.flush(); throw new WasiExit(code); },
            sched_yield: () => 0,
            fd_prestat_get: (fd, buf) => {
                const d = this.fds.get(fd);
                if (!d || !d.preopen) return E.BADF;
                this.view().setUint8(buf, 0);
                u32(buf + 4, 1);
                return 0;
            },
            fd_prestat_dir_name: (fd, ptr, len) => {
                const d = this.fds.get(fd);
                if (!d || !d.preopen) return E.BADF;
                if (len >= 1) this.bytes()[ptr] = 0x2f;   // "/"
                return 0;
            },
            fd_fdstat_get: (fd, buf) => {
                const d = this.fds.get(fd);
                if (fd > 2 && !d) return E.BADF;
                new Uint8Array(this.memory.buffer, buf, 24).fill(0);
                this.view().setUint8(buf, fd <= 2 ? FILETYPE.CHAR : d.kind === 'dir' ? FILETYPE.DIR : FILETYPE.FILE);
                this.view().setBigUint64(buf + 8, 0xffffffffffffffffn, true);
                this.view().setBigUint64(buf + 16, 0xffffffffffffffffn, true);
                return 0;
            },
            fd_fdstat_set_flags: () => 0,
            fd_filestat_get: (fd, buf) => {
                const d = this.fds.get(fd);
                if (!d) return fd <= 2 ? (stat(buf, FILETYPE.CHAR, 0), 0) : E.BADF;
                if (d.kind === 'dir') stat(buf, FILETYPE.DIR, 0);
                else stat(buf, FILETYPE.FILE, d.file.size);
                return 0;
            },
            path_filestat_get: (fd, flags, ptr, len, buf) => {
                const p = this.path(fd, ptr, len);
                if (p === null) return E.BADF;
                if (fs.dirs.has(p)) { stat(buf, FILETYPE.DIR, 0); return 0; }
                const f = fs.files.get(p);
                if (!f) return E.NOENT;
                stat(buf, FILETYPE.FILE, f.size);
                return 0;
            },
            path_open: (fd, dirflags, ptr, len, oflags, rb, ri, fdflags, out) => {
                const p = this.path(fd, ptr, len);
                if (p === null) return E.BADF;
                const CREAT = 1, DIRECTORY = 2, EXCL = 4, TRUNC = 8, APPEND = 1;
                if (fs.dirs.has(p)) {
                    if (oflags & (EXCL | CREAT)) return oflags & EXCL ? E.EXIST : E.ISDIR;
                    this.fds.set(this.next, { kind: 'dir', path: p });
                    u32(out, this.next++);
                    return 0;
                }
                if (oflags & DIRECTORY) return fs.files.has(p) ? E.NOTDIR : E.NOENT;
                let f = fs.files.get(p);
                if (f && (oflags & EXCL) && (oflags & CREAT)) return E.EXIST;
                if (!f) {
                    if (!(oflags & CREAT)) return E.NOENT;
                    if (!fs.dirs.has(MemFS.parent(p))) return E.NOENT;
                    f = { data: new Uint8Array(0), size: 0 };
                    fs.files.set(p, f);
                }
                if (oflags & TRUNC) f.size = 0;
                this.fds.set(this.next, { kind: 'file', path: p, file: f, pos: 0, append: !!(fdflags & APPEND) });
                u32(out, this.next++);
                return 0;
            },
            fd_close: (fd) => {
                if (fd <= 2) { this.flush(); return 0; }
                const d = this.fds.get(fd);
                if (!d || d.preopen) return d ? 0 : E.BADF;
                this.fds.delete(fd);
                return 0;
            },
            fd_sync: () => 0,
            fd_datasync: () => 0,
            fd_read: (fd, iov, n, nread) => {
                if (fd === 0) { u32(nread, 0); return 0; }
                const d = this.fds.get(fd);
                if (!d || d.kind !== 'file') return d ? E.ISDIR : E.BADF;
                let total = 0;
                for (const [buf, blen] of iovs(iov, n)) {
                    const k = Math.max(0, Math.min(blen, d.file.size - d.pos));
                    this.bytes().set(d.file.data.subarray(d.pos, d.pos + k), buf);
                    d.pos += k; total += k;
                    if (k < blen) break;
                }
                u32(nread, total);
                return 0;
            },
            fd_write: (fd, iov, n, nwritten) => {
                let total = 0;
                if (fd === 1 || fd === 2) {
                    const s = this.sink[fd];
                    for (const [buf, blen] of iovs(iov, n)) { s.pend += this.str(buf, blen); total += blen; }
                    let i;
                    while ((i = s.pend.indexOf('\n')) >= 0) { s.fn(s.pend.slice(0, i)); s.pend = s.pend.slice(i + 1); }
                    u32(nwritten, total);
                    return 0;
                }
                const d = this.fds.get(fd);
                if (!d || d.kind !== 'file') return d ? E.ISDIR : E.BADF;
                if (d.append) d.pos = d.file.size;
                for (const [buf, blen] of iovs(iov, n)) {
                    grow(d.file, d.pos + blen);
                    d.file.data.set(this.bytes().subarray(buf, buf + blen), d.pos);
                    d.pos += blen; total += blen;
                    if (d.pos > d.file.size) d.file.size = d.pos;
                }
                u32(nwritten, total);
                return 0;
            },
            fd_seek: (fd, offset, whence, out) => {
                const d = this.fds.get(fd);
                if (!d || d.kind !== 'file') return fd <= 2 ? E.INVAL : E.BADF;
                const base = whence === 0 ? 0 : whence === 1 ? d.pos : d.file.size, pos = base + Number(offset);
                if (pos < 0) return E.INVAL;
                d.pos = pos;
                u64(out, pos);
                return 0;
            },
            fd_tell: (fd, out) => {
                const d = this.fds.get(fd);
                if (!d || d.kind !== 'file') return E.BADF;
                u64(out, d.pos);
                return 0;
            },
            fd_readdir: (fd, buf, blen, cookie, used) => {
                const d = this.fds.get(fd);
                if (!d || d.kind !== 'dir') return E.BADF;
                const names = ['.', '..', ...fs.children(d.path)], enc = new TextEncoder();
                let off = 0;
                for (let i = Number(cookie); i < names.length && off < blen; i++) {
                    const name = enc.encode(names[i]), child = MemFS.norm(d.path + '/' + names[i]);
                    const ent = new Uint8Array(24 + name.length), v = new DataView(ent.buffer);
                    v.setBigUint64(0, BigInt(i + 1), true);
                    v.setBigUint64(8, BigInt(i + 1), true);
                    v.setUint32(16, name.length, true);
                    v.setUint8(20, fs.dirs.has(child) || i < 2 ? FILETYPE.DIR : FILETYPE.FILE);
                    ent.set(name, 24);
                    const k = Math.min(ent.length, blen - off);   // a cut entry tells libc to ask again
                    this.bytes().set(ent.subarray(0, k), buf + off);
                    off += k;
                }
                u32(used, off);
                return 0;
            },
            path_create_directory: (fd, ptr, len) => {
                const p = this.path(fd, ptr, len);
                if (p === null) return E.BADF;
                if (fs.dirs.has(p) || fs.files.has(p)) return E.EXIST;
                if (!fs.dirs.has(MemFS.parent(p))) return E.NOENT;
                fs.dirs.add(p);
                return 0;
            },
            path_remove_directory: (fd, ptr, len) => {
                const p = this.path(fd, ptr, len);
                if (p === null) return E.BADF;
                if (!fs.dirs.has(p)) return fs.files.has(p) ? E.NOTDIR : E.NOENT;
                if (fs.children(p).length) return E.NOTEMPTY;
                fs.dirs.delete(p);
                return 0;
            },
            path_unlink_file: (fd, ptr, len) => {
                const p = this.path(fd, ptr, len);
                if (p === null) return E.BADF;
                if (fs.dirs.has(p)) return E.ISDIR;
                if (!fs.files.delete(p)) return E.NOENT;
                return 0;
            },
            path_rename: (fd, ptr, len, fd2, ptr2, len2) => {
                const a = this.path(fd, ptr, len), b = this.path(fd2, ptr2, len2);
                if (a === null || b === null) return E.BADF;
                const f = fs.files.get(a);
                if (!f) return fs.dirs.has(a) ? E.NOSYS : E.NOENT;
                if (fs.dirs.has(b)) return E.ISDIR;
                if (!fs.dirs.has(MemFS.parent(b))) return E.NOENT;
                fs.files.delete(a);
                fs.files.set(b, f);
                return 0;
            },
        };
    }
}
