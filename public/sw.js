// Fairslot's service worker: after one visit the app opens with no network at all.
//
// - The app shell (index.html) and the hashed files it names (wasm, js, css; the hash is up to 16
//   hex digits, fewer when it starts with zeros) are cached at install, with the wasm parts the
//   split loader fetches on demand (every page but the first, the FHIR adapter), so a page never
//   opened online still opens offline. Hashed files never change under their name, so they are
//   served cache-first.
// - Navigations go to the network first, so a new release shows at once; offline, the cached
//   shell answers and the app routes on the device.
// - config.json is network-first with the cached copy as fallback: it holds no personal data.
// - The booking API and anything not from this origin are never touched: personal data and live
//   slot counts must not be served from a cache by this worker.
'use strict';

// The build writes its own stamp here (scripts/finish-split.mjs), so every release changes this
// file: the browser installs the new worker, which keeps the new shell and all its parts, and
// drops the previous release's cache when it takes over.
const CACHE = 'fairslot-shell-dev';
const SHELL = new URL('./', self.registration.scope).pathname;
const CONFIG = new URL('./config.json', self.registration.scope).pathname;

/** Hashed build outputs (name-<16 hex>.js, _bg.wasm, .css): their content never changes. */
const HASHED = /\/[\w.-]+-[0-9a-f]{8,16}(?:_bg)?\.(?:js|wasm|css)$/;

/**
 * The hashed files the shell page names, wherever it names them: attributes (quoted or not,
 * the release build minifies) and the loader script.
 */
function assetsOf(html) {
  const found = new Set();
  for (const m of html.matchAll(/[\w./-]+-[0-9a-f]{8,16}(?:_bg)?\.(?:js|wasm|css)/g)) {
    const url = new URL(m[0], self.registration.scope);
    if (url.origin === self.location.origin && HASHED.test(url.pathname)) found.add(url.pathname);
  }
  return [...found];
}

/** The parts a split loader (`__wasm_split-<hash>.js`) fetches on demand, next to itself. */
function partsOf(loaderPath, js) {
  const found = new Set();
  for (const m of js.matchAll(/"\.\/([\w.-]+-[0-9a-f]{8,16}\.wasm)"/g)) {
    const url = new URL(m[1], new URL(loaderPath, self.registration.scope));
    if (url.origin === self.location.origin && HASHED.test(url.pathname)) found.add(url.pathname);
  }
  return [...found];
}

const isLoader = (path) => /\/__wasm_split-[0-9a-f]{8,16}\.js$/.test(path);

/** Everything the shell needs offline: the hashed files it names, and the parts their loader names. */
async function assetsWithParts(html, textOf) {
  const assets = assetsOf(html);
  const parts = await Promise.all(
    assets.filter(isLoader).map(async (path) => partsOf(path, (await textOf(path)) || '')),
  );
  return [...assets, ...parts.flat()];
}

/** A cached file's text, for reading the loader's list of parts. */
const cachedText = (cache) => async (path) => {
  const cached = await cache.match(path);
  return cached ? cached.text() : null;
};

async function precache() {
  const cache = await caches.open(CACHE);
  const shell = await fetch(SHELL, { cache: 'no-cache' });
  if (!shell.ok) throw new Error(`shell answered ${shell.status}`);
  const html = await shell.clone().text();
  await cache.put(SHELL, shell);
  const put = async (path) => {
    const res = await fetch(path, { cache: 'no-cache' });
    if (res.ok) await cache.put(path, res);
  };
  const named = assetsOf(html);
  await Promise.all([CONFIG, ...named].map(put));
  const all = await assetsWithParts(html, cachedText(cache));
  await Promise.all(all.filter((path) => !named.includes(path)).map(put));
}

self.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

/** Drops other caches of ours, and hashed files the current shell no longer names. */
async function prune() {
  const names = await caches.keys();
  await Promise.all(names.filter((n) => n.startsWith('fairslot-') && n !== CACHE).map((n) => caches.delete(n)));
  const cache = await caches.open(CACHE);
  const shell = await cache.match(SHELL);
  if (!shell) return;
  const keep = new Set(await assetsWithParts(await shell.text(), cachedText(cache)));
  for (const request of await cache.keys()) {
    const path = new URL(request.url).pathname;
    if (HASHED.test(path) && !keep.has(path)) await cache.delete(request);
  }
}

self.addEventListener('activate', (event) => {
  event.waitUntil(prune().then(() => self.clients.claim()));
});

/** `accept` says which answers may stand in for the cached copy (a proxy's error page may not). */
async function networkFirst(request, cacheKey, accept) {
  const cache = await caches.open(CACHE);
  try {
    const res = await fetch(request);
    if (res.ok && (await accept(res))) await cache.put(cacheKey, res.clone());
    return res;
  } catch (offline) {
    const cached = await cache.match(cacheKey);
    if (cached) return cached;
    throw offline;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request, { ignoreSearch: true });
  if (cached) return cached;
  const res = await fetch(request);
  if (res.ok) await cache.put(request, res.clone());
  return res;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/')) return;
  if (request.mode === 'navigate') {
    // Only the app's own page becomes the shell: every route answers with it.
    const isShell = async (res) =>
      (res.headers.get('content-type') || '').includes('text/html') && (await res.clone().text()).includes('/fairslot-');
    event.respondWith(networkFirst(request, SHELL, isShell));
  } else if (url.pathname === CONFIG) {
    const isJson = (res) => (res.headers.get('content-type') || '').includes('json');
    event.respondWith(networkFirst(request, CONFIG, isJson));
  } else if (HASHED.test(url.pathname)) {
    event.respondWith(cacheFirst(request));
  }
});
