import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  bookThroughApi,
  expect,
  expectAccessible,
  fillPatient,
  freeSlot,
  freshPerson,
  lookupBooking,
  startServer,
  test,
  type OwnServer,
} from './support';

// The open ledger (公开账本) as a patient or a partner's engineer meets it: the page checks the
// ledger in the browser, the ticket checks its own entry, and a ledger rewritten in the database
// file behind the server's back is reported. A server of this file's own (one per worker), so
// its ledger is this file's alone and the rewrite touches nothing else.
let server: OwnServer;
test.beforeAll(async () => {
  server = await startServer([]);
});
test.afterAll(() => server?.stop());

const verified = (page: import('@playwright/test').Page) => page.getByRole('status').filter({ hasText: 'Ledger verified' });

test('the ledger page checks the ledger on the device and counts each channel from its entries', async ({ page, request }) => {
  // The phone and desktop projects share this server: each books under a channel of its own.
  const channel = `ledger-${test.info().project.name}`;
  const { slot } = await freeSlot(request, 'h1-cardio-6', test.info().project.name === 'phone' ? 0 : 1, 1, server.base);
  const res = await request.post(`${server.base}/api/v1/bookings`, {
    headers: { 'Idempotency-Key': `ledger-${channel}`, 'X-Fairslot-Channel': channel },
    data: { slot_id: slot.id, patient: { name: '王芳', document_kind: 'resident_id', document_number: freshPerson().id, phone: freshPerson().phone, relationship: 'self', consent: true } },
  });
  expect(res.status()).toBe(201);

  await page.goto(`${server.base}/ledger?lang=en`);
  await expect(verified(page)).toBeVisible();
  await expect(page.getByText(/^Signature valid: a checkpoint of \d+ entries, signed by fairslot\.localhost\/ledger$/)).toBeVisible();
  await expect(page.getByText(/^First check on this device/)).toBeVisible();
  await expect(page.getByText(/^Recomputed: \d+ entries add up to the signed root$/)).toBeVisible();
  const row = page.locator(`tr[data-channel="${channel}"]`);
  await expect(row.locator('td').first()).toHaveText('1');
  await expectAccessible(page);

  // The next visit proves the ledger only grew since the checkpoint this device kept.
  await page.reload();
  await expect(verified(page)).toBeVisible();
  await expect(page.getByText(/^Consistent with the ledger this device checked before \(\d+ entries\)/)).toBeVisible();

  // Reached from every page's footer, in both languages.
  await page.goto(`${server.base}/?lang=zh-CN`);
  await page.getByRole('link', { name: '公开账本' }).click();
  await expect(page.getByRole('heading', { name: '公开账本', level: 1 })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: '账本核验通过' })).toBeVisible();
});

test('a ticket says which ledger entry recorded the booking, checked in the browser', async ({ page, request }) => {
  const who = freshPerson();
  const { slot } = await freeSlot(request, 'h1-cardio-6', test.info().project.name === 'phone' ? 2 : 3, 1, server.base);
  await page.goto(`${server.base}/hospitals/h1/departments/h1-cardio/doctors/h1-cardio-6/book/${slot.id}?lang=en`);
  await fillPatient(page, who);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(page.locator('.ticket-code')).toBeVisible();
  const code = (await page.locator('.ticket-code').textContent())!;
  const booking = await lookupBooking<{ ledger: { index: number } }>(request, code, who.last4, server.base);
  await expect(page.locator('.ledger-line')).toHaveText(`Recorded in the open ledger as entry ${booking.ledger.index} — verified`);
});

test('a ledger rewritten in the database file is reported, not shown as fact', async ({ page, request }) => {
  const made = await bookThroughApi<{ ledger: { index: number } }>(request, (await freeSlot(request, 'h1-cardio-6', 4, 1, server.base)).slot.id, freshPerson(), server.base);
  await page.goto(`${server.base}/ledger?lang=en`);
  await expect(verified(page)).toBeVisible();

  // Someone with the database file moves the booking to another channel. The table refuses a
  // plain UPDATE; dropping its guard first does it.
  execFileSync('python3', [
    '-c',
    `import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
try:
    db.execute("UPDATE ledger SET leaf = leaf WHERE idx = ?", (int(sys.argv[2]),))
    sys.exit("the ledger accepted an UPDATE")
except sqlite3.DatabaseError:
    pass
db.execute("DROP TRIGGER ledger_is_append_only_update")
db.execute("UPDATE ledger SET leaf = replace(leaf, '\\"channel\\":\\"', '\\"channel\\":\\"other-') WHERE idx = ?", (int(sys.argv[2]),))
db.commit()`,
    join(server.dataDir, 'fairslot.sqlite3'),
    String(made.ledger.index),
  ]);

  await page.reload();
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('The ledger did not verify');
  await expect(alert).toContainText('entries were changed');
  await expect(verified(page)).toHaveCount(0);
  await expectAccessible(page);
});
