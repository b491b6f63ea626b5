import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { api, expect, expectAccessible, hospitals, test, type Schedule } from './support';

// The app is cut into parts (scripts/wasm-ld): the first screen loads the main module only, and
// each other page brings its part when it is first opened.

const ROOT = resolve(__dirname, '..', '..');

/** Every `.rs` file under `dir`. */
function rustFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? rustFiles(join(dir, e.name)) : e.name.endsWith('.rs') ? [join(dir, e.name)] : [],
  );
}

/**
 * The app's parts, by name, as its source declares them: each `wasm_split(<name>, …)` and each
 * page made with `page_part!(…, …, <name>, …)` (src/parts.rs).
 */
function declaredParts(): string[] {
  const names = new Set<string>();
  for (const file of rustFiles(join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/wasm_split\((\w+),/g)) names.add(m[1]);
    for (const m of text.matchAll(/page_part!\(\s*\w+,\s*\w+,\s*(\w+),/g)) names.add(m[1]);
  }
  return [...names].sort();
}

/** The parts the first screen brings in the background, once the hospital list is up. */
const BACKGROUND = ['native', 'outbox'];

/** The Web Lock the outbox runtime takes to run its sending loop: the last step of its start. */
const OUTBOX_LOCK = /const LOCK_NAME: &str = "([^"]+)"/.exec(readFileSync(join(ROOT, 'src', 'offline', 'lock.rs'), 'utf8'))![1];

/** The parts (`split_<name>-<hash>.wasm`) the page has fetched so far, by name. */
function partsFetched(page: import('@playwright/test').Page): Set<string> {
  const seen = new Set<string>();
  page.on('request', (r) => {
    const m = new URL(r.url()).pathname.match(/\/split_(\w+)-[0-9a-f]+\.wasm$/);
    if (m) seen.add(m[1]);
  });
  return seen;
}

test('the hospital list loads no other page, and a page brings its part when it is opened', async ({ page, request }) => {
  // What the source declares is what the build made: a part missing from either side fails here
  // rather than going unchecked below.
  const declared = declaredParts();
  const built = readdirSync(join(ROOT, 'dist'))
    .map((f) => /^split_(\w+)-[0-9a-f]+\.wasm$/.exec(f)?.[1])
    .filter((n): n is string => !!n)
    .sort();
  expect(declared).toEqual(built);
  expect(declared).toEqual(expect.arrayContaining([...BACKGROUND, 'hospital', 'book']));

  const [first] = await hospitals(request);
  const parts = partsFetched(page);
  await page.goto('/?lang=en');
  await expect(page.locator('.hospital-card').first()).toBeVisible();
  // The background work (the adapter's part, then the outbox runtime's, which reads the store and
  // takes its lock) is over once the runtime holds its lock: a page part fetched by the first
  // screen would have been asked for by then.
  await expect
    .poll(() => page.evaluate(async (name) => (await navigator.locks.query()).held?.some((l) => l.name === name) ?? false, OUTBOX_LOCK))
    .toBe(true);
  for (const part of BACKGROUND) expect(parts, `${part} was not fetched in the background`).toContain(part);
  // No page comes with it; nor does the bridge to an embedding page, in a deployment that is not
  // embedded, nor the adapter of another backend.
  for (const part of declared.filter((p) => !BACKGROUND.includes(p))) {
    expect(parts, `${part} was fetched for the first screen`).not.toContain(part);
  }

  await page.getByRole('link', { name: first.name.en }).click();
  await expect(page.getByRole('heading', { level: 1, name: first.name.en })).toBeVisible();
  expect(parts).toContain('hospital');
  expect(parts).not.toContain('book');
});

test('on a slow network the hospital list comes first: the background parts wait for its answer', async ({ page }) => {
  const parts = partsFetched(page);
  const order: string[] = [];
  page.on('request', (r) => {
    if (/\/split_\w+-[0-9a-f]+\.wasm$/.test(new URL(r.url()).pathname)) order.push('part');
  });
  page.on('response', (r) => {
    if (new URL(r.url()).pathname === '/api/v1/hospitals') order.push('list');
  });
  // The list's answer takes longer than the browser takes to fall idle while it waits.
  await page.route('**/api/v1/hospitals**', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await route.continue();
  });
  await page.goto('/?lang=en');
  await expect(page.locator('.hospital-card').first()).toBeVisible();
  await expect.poll(() => parts.has('outbox'), { timeout: 5_000 }).toBe(true);
  expect(order.indexOf('list'), order.join(' ')).toBe(0);
});

test('a page whose part cannot be fetched says so in the patient language, and loads on retry', async ({ page, request }) => {
  const [first] = await hospitals(request);
  await page.route(/\/split_hospital-[0-9a-f]+\.wasm$/, (route) => route.abort('internetdisconnected'));
  await page.goto('/?lang=zh-CN');
  await page.getByRole('link', { name: first.name.zh }).click();

  const alert = page.getByRole('alert');
  await expect(alert).toContainText('这部分页面未能加载');
  await expectAccessible(page);
  // The list it came from is still one step back, and nothing else broke.
  await expect(page.getByRole('link', { name: '我的预约' })).toBeVisible();

  await page.unroute(/\/split_hospital-[0-9a-f]+\.wasm$/);
  await alert.getByRole('button', { name: '重试' }).click();
  await expect(page.getByRole('heading', { level: 1, name: first.name.zh })).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('the adapter part missing is a request that could not go out: explained, and retried', async ({ page, request }) => {
  const [first] = await hospitals(request);
  const nativePart = /\/split_native-[0-9a-f]+\.wasm$/;
  await page.route(nativePart, (route) => route.abort('internetdisconnected'));
  await page.goto('/?lang=en');
  // The hospital list does not need it.
  await expect(page.locator('.hospital-card').first()).toBeVisible();
  await page.getByRole('link', { name: first.name.en }).click();
  await expect(page.getByRole('alert')).toContainText('You seem to be offline');

  await page.unroute(nativePart);
  await page.getByRole('button', { name: 'Try again' }).click();
  await expect(page.getByRole('heading', { level: 1, name: first.name.en })).toBeVisible();
  await expect(page.locator('.department-group').first()).toBeVisible();
});

test('a booking page opened while the outbox part cannot be fetched takes no hold blind, and goes on when it arrives', async ({ page, request }) => {
  // The last slot of the fortnight with places to spare: the other tests book from the front.
  const schedule = await api<Schedule>(request, '/schedules?department=h1-cardio&days=14');
  const session = schedule.sessions.filter((s) => s.status === 'open' && s.slots.some((x) => x.remaining >= 3)).at(-1)!;
  const slot = session.slots.filter((x) => x.remaining >= 3).at(-1)!;
  const outboxPart = /\/split_outbox-[0-9a-f]+\.wasm$/;
  await page.route(outboxPart, (route) => route.abort('internetdisconnected'));
  await page.goto(`/hospitals/h1/departments/h1-cardio/doctors/${session.doctor_id}/book/${slot.id}?lang=en`);
  await expect(page.getByRole('alert')).toContainText('This part of the app could not be loaded');
  await expect(page.getByText(/This slot is held for you/)).toHaveCount(0);

  // Fetched again by itself every few seconds: once it arrives the slot is held.
  await page.unroute(outboxPart);
  await expect(page.getByText(/This slot is held for you/)).toBeVisible({ timeout: 10_000 });
  await expect(page.getByRole('alert')).toHaveCount(0);
});
