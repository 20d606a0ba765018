// bench/tiktoken_bench.mjs FILE [--encode-only] - the peer for bench_tokenizer.sh: tiktoken's GPT-2
// encoding (npm package: Rust compiled to WebAssembly) encodes FILE and prints the ids on one line,
// as `inheritune tokenize` does. --encode-only prints instead the median seconds of 5 encodes
// inside the process (no start-up, no loading, no printing).
import { readFileSync, writeSync } from "node:fs";
import { get_encoding } from "tiktoken";

const text = readFileSync(process.argv[2], "utf8");
const enc = get_encoding("gpt2");
const encode = (s) => (enc.encode_ordinary ? enc.encode_ordinary(s) : enc.encode(s));
if (process.argv[3] === "--encode-only") {
    const t = [];
    for (let i = 0; i < 5; i++) {
        const t0 = process.hrtime.bigint();
        encode(text);
        t.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    t.sort((a, b) => a - b);
    console.log(t[2].toFixed(4));
} else {
    const out = Buffer.from(Array.from(encode(text)).join(" ") + "\n");
    for (let off = 0; off < out.length; ) off += writeSync(1, out, off);
}
enc.free();
