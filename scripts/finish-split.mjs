// Trunk post-build step: puts the parts that scripts/wasm-ld cut off the app's wasm next to the
// main module, optimised and named by content like everything else Trunk writes.
//
// - Each part is run through the same wasm-opt as the main module and named `<part>-<hash>.wasm`.
// - The loader wasm-split-cli wrote (`__wasm_split.js`) imports the wasm-bindgen glue, and the
//   glue imports the loader, so the two cannot each be named by their own content. Both take one
//   hash over the glue, the loader and every part: a change to any of them renames both, and a
//   browser never pairs a cached loader with another build's glue.
// - index.html is pointed at the renamed glue (with its new integrity hash) and preloads the
//   loader alongside it, so the import does not cost a round trip of its own.
// - The service worker's cache name takes a hash of index.html: each release installs anew.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const staging = process.env.TRUNK_STAGING_DIR;
if (!staging) throw new Error('TRUNK_STAGING_DIR is not set: run through `trunk build`');
const profile = process.env.TRUNK_PROFILE === 'debug' ? 'debug' : 'release';
const target = process.env.CARGO_TARGET_DIR || 'target';
const partsDir = join(target, 'wasm32-unknown-unknown', profile, 'wasm-split');
const loaderSource = join(partsDir, '__wasm_split.js');
if (!existsSync(loaderSource)) {
  throw new Error(`${loaderSource} is missing: the wasm was not linked through scripts/wasm-ld`);
}
// The parts must come from the link that produced the main module Trunk just processed.
const mainModule = join(target, 'wasm32-unknown-unknown', profile, 'fairslot.wasm');
const linked = readFileSync(join(partsDir, 'main.sha256'), 'utf8').trim();
if (createHash('sha256').update(readFileSync(mainModule)).digest('hex') !== linked) {
  throw new Error(`${partsDir} was cut from another link than ${mainModule}: build again`);
}
// Debian's binaryen 108 produces modules that fail at start; the pinned one is 132.
const wasmOptVersion = execFileSync('wasm-opt', ['--version'], { encoding: 'utf8' });
if (!/version[ _]132\b/.test(wasmOptVersion)) {
  throw new Error(`wasm-opt 132 expected first on PATH, found: ${wasmOptVersion.trim()}`);
}

const hex = (bytes, n = 16) => createHash('sha256').update(bytes).digest('hex').slice(0, n);
const sri = (bytes) => `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
// The features rustc enables for wasm32-unknown-unknown; the parts carry no features section.
const FEATURES = [
  '--enable-bulk-memory',
  '--enable-nontrapping-float-to-int',
  '--enable-sign-ext',
  '--enable-mutable-globals',
  '--enable-reference-types',
  '--enable-multivalue',
];

let loader = readFileSync(loaderSource, 'utf8');
const parts = [];
for (const file of readdirSync(partsDir).filter((f) => f.endsWith('.wasm')).sort()) {
  const optimised = join(partsDir, `${file}.opt`);
  execFileSync('wasm-opt', ['-Oz', ...FEATURES, join(partsDir, file), '-o', optimised], {
    stdio: 'inherit',
  });
  const bytes = readFileSync(optimised);
  const name = `${file.replace(/\.wasm$/, '')}-${hex(bytes)}.wasm`;
  writeFileSync(join(staging, name), bytes);
  if (!loader.includes(`"./${file}"`)) throw new Error(`the loader does not name ${file}`);
  loader = loader.replaceAll(`"./${file}"`, `"./${name}"`);
  parts.push([name, bytes.length]);
}

const glueName = readdirSync(staging).find((f) => /^fairslot-[0-9a-f]{8,16}\.js$/.test(f));
if (!glueName) throw new Error('no wasm-bindgen glue (fairslot-<hash>.js) in the staging dir');
let glue = readFileSync(join(staging, glueName), 'utf8');
// Only the import statement is renamed: the imports object keeps the module name the wasm asks for.
const IMPORT_LOADER = /(from\s*)"\.\/__wasm_split\.js"/g;
if (!IMPORT_LOADER.test(glue)) throw new Error('the glue does not import the loader');
if (!loader.includes('"./fairslot.js"')) throw new Error('the loader does not import the glue');

const build = hex(glue + loader);
const newGlue = `fairslot-${build}.js`;
const loaderName = `__wasm_split-${build}.js`;
glue = glue.replace(IMPORT_LOADER, `$1"./${loaderName}"`);
loader = loader.replaceAll('"./fairslot.js"', `"./${newGlue}"`);
rmSync(join(staging, glueName));
writeFileSync(join(staging, newGlue), glue);
writeFileSync(join(staging, loaderName), loader);

const htmlPath = join(staging, 'index.html');
let html = readFileSync(htmlPath, 'utf8');
if (!html.includes(glueName)) throw new Error(`index.html does not name ${glueName}`);
html = html.replaceAll(glueName, newGlue);
// The glue's modulepreload tag: new integrity, and the loader preloaded next to it.
const tag = html.match(new RegExp(`<link[^>]*${newGlue.replace('.', '\\.')}[^>]*>`));
if (!tag) throw new Error('index.html has no preload tag for the glue');
const href = tag[0].match(/href=("?)([^"\s>]+)\1/)[2];
const loaderHref = href.replace(newGlue, loaderName);
const glueTag = tag[0].replace(/sha384-[A-Za-z0-9+/=]+/, sri(glue));
const loaderTag = `<link crossorigin href=${loaderHref} integrity=${sri(loader)} rel=modulepreload>`;
html = html.replace(tag[0], glueTag + loaderTag);
writeFileSync(htmlPath, html);

// The service worker's cache is named after this page (which names every hashed file), so a new
// release is a new worker that keeps the new parts and drops the old ones.
const swPath = join(staging, 'sw.js');
const sw = readFileSync(swPath, 'utf8');
const STAMP = "const CACHE = 'fairslot-shell-dev';";
if (!sw.includes(STAMP)) throw new Error('sw.js has no cache name to stamp');
writeFileSync(swPath, sw.replace(STAMP, `const CACHE = 'fairslot-shell-${hex(html)}';`));

for (const [name, size] of parts) console.log(`[split] ${name} ${size} B`);
console.log(`[split] ${newGlue} and ${loaderName} in ${staging}`);
