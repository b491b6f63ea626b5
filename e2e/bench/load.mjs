// Time from navigation to the first rendered hospital list, in Debian's Chromium, under Lighthouse's
// "slow 4G" mobile profile: 150 ms RTT, 1.6 Mbps down, 750 Kbps up, 4x CPU slowdown (via CDP).
// Then the interaction latency of a large department schedule (60 doctors x 14 days x 40 slots):
// time from a tap on another day to the new day's sessions painted, at 4x CPU.
import { chromium } from '@playwright/test';

const base = process.argv[2];
const runs = Number(process.env.RUNS ?? 5);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-gpu'],
});

async function throttledPage(network) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  if (network) {
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 150,
      downloadThroughput: (1.6 * 1024 * 1024) / 8,
      uploadThroughput: (750 * 1024) / 8,
    });
  }
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  return { context, page, cdp };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function firstList(network) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const { context, page } = await throttledPage(network);
    const start = Date.now();
    await page.goto(`${base}/?lang=zh-CN`);
    await page.locator('.hospital-card').first().waitFor();
    times.push(Date.now() - start);
    await context.close();
  }
  return times;
}

async function largeScheduleTap() {
  const { context, page } = await throttledPage(false);
  const url = `${base}/hospitals/h1/departments/h1-large/schedule`;
  const t0 = Date.now();
  await page.goto(url);
  await page.locator('.session-row').first().waitFor({ timeout: 60_000 });
  const firstRender = Date.now() - t0;
  const taps = [];
  const days = page.locator('.day-strip .day');
  for (let i = 1; i < 8; i++) {
    const day = days.nth(i);
    const date = await day.getAttribute('data-date');
    const ms = await page.evaluate(async (date) => {
      const button = document.querySelector(`.day[data-date="${date}"]`);
      const start = performance.now();
      button.click();
      // Wait for the frame that shows the chosen day.
      await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
      return performance.now() - start;
    }, date);
    await page.locator(`.day[data-date="${date}"][aria-pressed="true"]`).waitFor();
    taps.push(Math.round(ms));
  }
  const rows = await page.locator('.session-row').count();
  await context.close();
  return { firstRender, taps, rows };
}

// What the browser fetched before the first hospital list was on screen, and in the three seconds
// after (the parts started in the background), as transferred (brotli, headers included).
async function whatLoads() {
  const { context, page, cdp } = await throttledPage(false);
  const urls = new Map();
  const finished = [];
  // A wasm file compiled while it streams reports no length when it finishes: its Content-Length
  // (the brotli body the server sent) stands in.
  const sent = new Map();
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.responseReceived', (e) => {
    const h = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    sent.set(e.requestId, Number(h['content-length'] ?? 0));
  });
  cdp.on('Network.loadingFinished', (e) =>
    finished.push({
      url: urls.get(e.requestId),
      bytes: Math.max(e.encodedDataLength, sent.get(e.requestId) ?? 0),
      at: Date.now(),
    }),
  );
  await page.goto(`${base}/?lang=zh-CN`);
  await page.locator('.hospital-card').first().waitFor();
  const shown = Date.now();
  await page.waitForTimeout(3000);
  await context.close();
  const name = (url) => new URL(url).pathname.replace(/-[0-9a-f]{8,16}(?=(_bg)?\.)/, '');
  const list = (rows) => rows.map((r) => `${name(r.url)} ${r.bytes}`).join(', ');
  const sum = (rows) => rows.reduce((n, r) => n + r.bytes, 0);
  const before = finished.filter((r) => r.at <= shown);
  const after = finished.filter((r) => r.at > shown);
  console.log('## What the first screen fetched (bytes transferred, or the body as sent where a streamed wasm reports none)');
  console.log(`- before the list showed: ${sum(before)} B in ${before.length} requests: ${list(before)}`);
  console.log(`- in the 3 s after: ${sum(after)} B in ${after.length} requests: ${list(after)}`);
}

await whatLoads();
const unthrottled = await firstList(false);
const throttled = await firstList(true);
console.log('## First hospital list (390x844 touch, 4x CPU, brotli from the reference server)');
console.log(`runs: ${runs}`);
console.log(`- no network throttling: median ${median(unthrottled)} ms (${unthrottled.join(', ')})`);
console.log(`- slow 4G (150 ms RTT, 1.6 Mbps down, 750 Kbps up): median ${median(throttled)} ms (${throttled.join(', ')})`);
try {
  const large = await largeScheduleTap();
  console.log('\n## Large department schedule (60 doctors x 14 days x 40 slots, 4x CPU, no network throttling)');
  console.log(`- first render of the schedule page: ${large.firstRender} ms; ${large.rows} session rows on the day shown`);
  console.log(`- tap on another day to next frame: median ${median(large.taps)} ms (${large.taps.join(', ')})`);
} catch (e) {
  console.log(`\n(large schedule not measured: ${e.message.split('\n')[0]})`);
}
await browser.close();
