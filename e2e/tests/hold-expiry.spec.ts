import { expect, freeSlot, startServer, test, type OwnServer } from './support';

// A second reference server whose holds last 3 seconds, so expiry happens within the test.
let server: OwnServer;
let base = '';

test.beforeAll(async () => {
  server = await startServer(['--hold-seconds', '3']);
  base = server.base;
});

test.afterAll(() => server?.stop());

test('an expired hold says so and the slot can be taken again', async ({ page, request }) => {
  const { slot } = await freeSlot(request, 'h1-cardio-5', 0, 1, base);
  await page.goto(`${base}/hospitals/h1/departments/h1-cardio/doctors/h1-cardio-5/book/${slot.id}?lang=en`);
  await expect(page.getByRole('timer')).toContainText('held for you for 0:0');
  // Under a minute left: said once, politely, before the slot is lost.
  await expect(page.getByRole('status').filter({ hasText: 'Less than a minute left' })).toBeVisible();
  await page.getByLabel('Full name').fill('Li Lei');
  await expect(page.getByRole('alert')).toContainText('The hold has run out', { timeout: 10_000 });
  await page.getByRole('button', { name: 'Take this slot again' }).click();
  await expect(page.getByRole('timer')).toBeVisible();
  // What was typed before the hold ran out is still there.
  await expect(page.getByLabel('Full name')).toHaveValue('Li Lei');
});
