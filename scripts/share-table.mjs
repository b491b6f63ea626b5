// Run by scripts/wasm-ld after wasm-split-cli. The parts call into the main module's function
// table, which the main module exports as `__indirect_function_table`. wasm-bindgen drops the
// exports it knows the linker adds, that one included (Trunk cannot pass --keep-lld-exports),
// so the export is renamed here, before wasm-bindgen sees it, and the loader asks for the new name.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir] = process.argv.slice(2);
const FROM = '__indirect_function_table';
const TO = '__wasm_split_table';

function leb(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return [value, at];
  }
}
function encodeLeb(value) {
  const out = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value) b |= 0x80;
    out.push(b);
  } while (value);
  return Buffer.from(out);
}

/** The module with one export renamed; every other byte as it was. */
function renameExport(wasm, from, to) {
  const chunks = [wasm.subarray(0, 8)];
  let at = 8;
  let renamed = false;
  while (at < wasm.length) {
    const id = wasm[at];
    const [size, body] = leb(wasm, at + 1);
    const end = body + size;
    if (id !== 7) {
      chunks.push(wasm.subarray(at, end));
      at = end;
      continue;
    }
    const [count, first] = leb(wasm, body);
    const entries = [encodeLeb(count)];
    let p = first;
    for (let i = 0; i < count; i++) {
      const [len, nameAt] = leb(wasm, p);
      const name = wasm.subarray(nameAt, nameAt + len).toString('utf8');
      const [, next] = leb(wasm, nameAt + len + 1);
      const rest = wasm.subarray(nameAt + len, next);
      const newName = Buffer.from(name === from ? to : name, 'utf8');
      renamed ||= name === from;
      entries.push(encodeLeb(newName.length), newName, rest);
      p = next;
    }
    const content = Buffer.concat(entries);
    chunks.push(Buffer.from([7]), encodeLeb(content.length), content);
    at = end;
  }
  if (!renamed) throw new Error(`the main module exports no ${from}`);
  return Buffer.concat(chunks);
}

const mainPath = join(dir, 'fairslot.wasm');
writeFileSync(mainPath, renameExport(readFileSync(mainPath), FROM, TO));

const loaderPath = join(dir, '__wasm_split.js');
const loader = readFileSync(loaderPath, 'utf8');
const SHARES = /const \{([^}]*)\b__indirect_function_table\b([^}]*)\} = initSync/;
if (!SHARES.test(loader)) throw new Error('the loader does not take the table from the main module');
writeFileSync(loaderPath, loader.replace(SHARES, `const {$1${TO}: ${FROM}$2} = initSync`));
