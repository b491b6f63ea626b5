import { api, expect, expectAccessible, hospitals, test, type Schedule } from './support';

// The app is cut into parts (scripts/wasm-ld): the first screen loads the main module only, and
// each other page brings its part when it is first opened.

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
  const [first] = await hospitals(request);
  const parts = partsFetched(page);
  await page.goto('/?lang=en');
  await expect(page.locator('.hospital-card').first()).toBeVisible();
  // Give background work (the outbox runtime's and the adapter's parts, fetched once the list is
  // up and the browser idle, within 1 s) time to arrive; no page comes with it.
  await page.waitForTimeout(2500);
  expect(parts).toContain('outbox');
  // Nor does the bridge to an embedding page, in a deployment that is not embedded.
  for (const pagePart of ['hospital', 'department', 'schedule', 'book', 'confirmation', 'my_bookings', 'fhir', 'embed']) {
    expect(parts, `${pagePart} was fetched for the first screen`).not.toContain(pagePart);
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
