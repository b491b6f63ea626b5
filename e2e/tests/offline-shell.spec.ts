import { ageReads, expect, test } from './support';

// The service worker is what these tests are about.
test.use({ serviceWorkers: 'allow' });

test('after one visit the app opens with the network off, and says it is offline', async ({ page, context }) => {
  await page.goto('/?lang=en');
  await expect(page.locator('.hospital-card').first()).toBeVisible();
  // Wait until the worker has cached the shell and controls the page.
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((ok) => navigator.serviceWorker.addEventListener('controllerchange', ok, { once: true }));
    }
  });

  await context.setOffline(true);
  // A deep link, never visited, opens from the cached shell and routes on the device.
  await page.goto('/hospitals/h1?lang=en');
  await expect(page.locator('.topbar')).toContainText('Fairslot');
  await expect(page.getByRole('alert')).toContainText('You seem to be offline');
  await expect(page.getByRole('button', { name: 'Try again' })).toBeVisible();
  // The pages' code is in parts the worker kept at install, not only the ones opened online:
  // my bookings, never opened, works with no network.
  await page.goto('/bookings?lang=en');
  await expect(page.getByLabel('Booking code')).toBeVisible();
  await page.goto('/hospitals/h1?lang=en');
  await expect(page.getByRole('alert')).toContainText('You seem to be offline');

  await context.setOffline(false);
  await page.getByRole('button', { name: 'Try again' }).click();
  await expect(page.getByRole('heading', { level: 1 })).not.toHaveText('');
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('the worker is stamped with its build, so each release installs anew with all its parts', async ({ page, request }) => {
  const sw = await (await request.get('/sw.js')).text();
  const stamp = sw.match(/const CACHE = 'fairslot-shell-([0-9a-f]{16})';/);
  expect(stamp, 'sw.js carries the build stamp').not.toBeNull();
  await page.goto('/?lang=en');
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  const names = await page.evaluate(() => caches.keys());
  expect(names).toEqual([`fairslot-shell-${stamp![1]}`]);
  // Every part the loader names is in that cache, not only the pages opened so far.
  const cached = await page.evaluate(async (name) => {
    const keys = await (await caches.open(name)).keys();
    return keys.map((r) => new URL(r.url).pathname);
  }, names[0]);
  expect(cached.filter((p) => /^\/split_\w+-[0-9a-f]+\.wasm$/.test(p)).length).toBeGreaterThanOrEqual(8);
});

test('the worker never answers for the booking API', async ({ page }) => {
  await page.goto('/?lang=en');
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  const cached = await page.evaluate(async () => {
    const names = await caches.keys();
    const urls: string[] = [];
    for (const n of names) for (const r of await (await caches.open(n)).keys()) urls.push(new URL(r.url).pathname);
    return urls;
  });
  expect(cached.length).toBeGreaterThan(0);
  expect(cached.filter((u) => u.startsWith('/api/'))).toEqual([]);
});

test('pages seen before open offline with what was loaded, its age, and a warning that places may have changed', async ({ page, context }) => {
  await page.goto('/hospitals/h1/departments/h1-cardio/doctors/h1-cardio-5?lang=en');
  const slots = page.locator('.slot');
  await expect(slots.first()).toBeVisible();
  const shown = await slots.count();
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await expect(page.getByRole('status').filter({ hasText: 'loaded at' })).toHaveCount(0);
  await ageReads(page, 2);

  await context.setOffline(true);
  await page.reload();
  await expect(slots).toHaveCount(shown);
  const notice = page.getByRole('status').filter({ hasText: 'You are offline' });
  await expect(notice).toContainText('places left may have changed');
  await expect(page.locator('html')).toHaveAttribute('data-stale', 'true');

  // Back online, the page refreshes itself and the warning goes.
  await context.setOffline(false);
  await expect(notice).toHaveCount(0, { timeout: 15_000 });
  await expect(page.locator('html')).toHaveAttribute('data-stale', 'false');
  await expect(slots).toHaveCount(shown);
});
