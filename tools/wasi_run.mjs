// node tools/wasi_run.mjs PROGRAM.wasm ARGS...: run a WASI program (our wasm32-wasi builds) with node's
// built-in WASI. The current directory is preopened as ".", its parent as ".." (so ../shared/data
// works as it does natively); the environment and the exit code pass through.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import { argv, env, exit, cwd } from 'node:process';
import { dirname } from 'node:path';

if (argv.length < 3) {
    console.error('usage: node tools/wasi_run.mjs PROGRAM.wasm [ARGS...]');
    exit(2);
}
const here = cwd();
const wasi = new WASI({
    version: 'preview1',
    args: [argv[2], ...argv.slice(3)],
    env,
    preopens: { '.': here, '..': dirname(here) },
    returnOnExit: true,
});
let code;
try {
    const module = await WebAssembly.compile(await readFile(argv[2]));
    const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
    code = wasi.start(instance);
} catch (e) {
    console.error(`wasi_run: ${argv[2]}: ${e.message}`);
    exit(2);
}
exit(code);
