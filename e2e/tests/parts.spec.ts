import { expect, test } from '@playwright/test';
import { expectAccessible, hospitals } from './support';

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
  // Give background work (the outbox runtime's part) time to arrive; no page comes with it.
  await page.waitForTimeout(1000);
  for (const pagePart of ['hospital', 'department', 'schedule', 'book', 'confirmation', 'fhir']) {
    expect(parts, `${pagePart} was fetched for the first screen`).not.toContain(pagePart);
  }

  await page.getByRole('link', { name: first.name.en }).click();
  await expect(page.getByRole('heading', { level: 1, name: first.name.en })).toBeVisible();
  expect(parts).toContain('hospital');
  expect(parts).not.toContain('book');
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
