import type { APIRequestContext, Page } from '@playwright/test';
import { expect, expectAccessible, freeSlot, freshPassport, freshPerson, remaining, startServer, test, type OwnServer, type Slot } from './support';

// The fault matrix: each scenario breaks the network or the server for real while a patient
// books, then checks the end state on the server (bookings under the key) and on the screen.
// Faults are server-wide, so this file runs its own reference server with fault control.
let server: OwnServer;
let base = '';

test.beforeAll(async () => {
  server = await startServer(['--fault-control']);
  base = server.base;
});

test.afterAll(() => server?.stop());

test.afterEach(async ({ request }) => {
  await request.delete(`${base}/api/v1/_faults`);
});

// Each test books for someone of its own: the server's real-name rules count per person and phone.
let ID = '';
let PHONE = '';
test.beforeEach(() => {
  ({ id: ID, phone: PHONE } = freshPerson());
});
const DOCTOR = 'h1-cardio-5';

async function setFaults(request: APIRequestContext, spec: string) {
  const res = await request.put(`${base}/api/v1/_faults`, { data: spec, headers: { 'content-type': 'text/plain' } });
  expect(res.ok(), `PUT _faults ${spec}`).toBeTruthy();
}

let taken = 0;
/** A free slot of the doctor from tomorrow on; each call takes another one. */
async function nextSlot(request: APIRequestContext): Promise<Slot> {
  return (await freeSlot(request, DOCTOR, taken++, 1, base)).slot;
}

/** Opens the booking page of a slot and fills in the patient, up to the review step. */
async function upToReview(page: Page, slot: Slot, doctor = DOCTOR, at = base) {
  await page.goto(`${at}/hospitals/h1/departments/h1-cardio/doctors/${doctor}/book/${slot.id}?lang=en`);
  await expect(page.getByRole('timer')).toBeVisible();
  await page.getByLabel('Full name').fill('Li Lei');
  await page.getByLabel('Document number').fill(ID);
  await page.getByLabel('Mobile number').fill(PHONE);
  await page.getByLabel(/I have read/).check();
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** Idempotency keys of the booking requests the page sends, in order. */
function bookingPosts(page: Page): string[] {
  const keys: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/api/v1/bookings')) keys.push(r.headers()['idempotency-key']);
  });
  return keys;
}

/** The outbox records as stored in the page's IndexedDB. */
async function outboxRecords(page: Page): Promise<string[]> {
  return page.evaluate(
    () =>
      new Promise<string[]>((ok, fail) => {
        const open = indexedDB.open('fairslot');
        open.onerror = () => fail(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const read = db.transaction('outbox').objectStore('outbox').getAll();
          read.onsuccess = () => {
            db.close();
            ok(read.result as string[]);
          };
          read.onerror = () => fail(read.error);
        };
      }),
  );
}

async function bookedUnder(request: APIRequestContext, key: string): Promise<number> {
  // The key is a credential: it travels in a body, never in a URL.
  return (await request.post(`${base}/api/v1/bookings/by-key`, { data: { idempotency_key: key } })).status();
}

const waiting = (page: Page) => page.getByRole('status').filter({ hasText: 'Waiting to send — not yet confirmed' });
const banner = (page: Page) => page.getByRole('complementary', { name: 'Bookings on their way' });

test('offline at confirm: the booking waits on the device, shows on every page, and goes out once when the network returns', async ({ page, context, request }) => {
  const slot = await nextSlot(request);
  const before = await remaining(request, DOCTOR, slot.id, base);
  await upToReview(page, slot);
  const keys = bookingPosts(page);
  await context.setOffline(true);
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(waiting(page)).toBeVisible();
  await expect(waiting(page)).toContainText('no answer from the booking service');
  await expectAccessible(page);

  // Visible from every page while it waits.
  await page.getByRole('link', { name: 'My bookings' }).first().click();
  await expect(banner(page)).toContainText('Waiting to send');

  await context.setOffline(false);
  await expect(banner(page)).toContainText('Booking confirmed, code', { timeout: 20_000 });
  expect(new Set(keys).size).toBe(1);
  expect(await bookedUnder(request, keys[0])).toBe(200);
  expect(await remaining(request, DOCTOR, slot.id, base)).toBe(before - 1);

  await banner(page).getByRole('link', { name: 'View' }).click();
  await expect(page).toHaveURL(/\/bookings\/[A-Z0-9]+$/);
  await expect(page.locator('.ticket-code')).toBeVisible();
  await expect(banner(page)).toHaveCount(0);
  // Settled and seen: nothing of the patient is left in the outbox.
  expect(await outboxRecords(page)).toEqual([]);
});

test('a burst of "unavailable" answers is ridden out, never sooner than Retry-After, into one booking', async ({ page, request }) => {
  const slot = await nextSlot(request);
  const before = await remaining(request, DOCTOR, slot.id, base);
  await upToReview(page, slot);
  const sent: number[] = [];
  page.on('request', (r) => r.method() === 'POST' && r.url().endsWith('/api/v1/bookings') && sent.push(Date.now()));
  await setFaults(request, 'burst=2:2:503');
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(waiting(page)).toContainText('busy or unavailable');
  await expect(page).toHaveURL(/\/bookings\/[A-Z0-9]+$/, { timeout: 20_000 });
  expect(sent.length).toBe(3);
  expect(sent[1] - sent[0]).toBeGreaterThanOrEqual(1_900);
  expect(sent[2] - sent[1]).toBeGreaterThanOrEqual(1_900);
  expect(await remaining(request, DOCTOR, slot.id, base)).toBe(before - 1);
});

test('the answer lost after the server booked: the app asks by key instead of booking again', async ({ page, request }) => {
  const slot = await nextSlot(request);
  const before = await remaining(request, DOCTOR, slot.id, base);
  await upToReview(page, slot);
  const keys = bookingPosts(page);
  await setFaults(request, 'drop_after_commit=1.0');
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  // Whether the browser itself repeats the request on the closed connection or the app asks by
  // key, the key makes it the same booking.
  await expect(page).toHaveURL(/\/bookings\/[A-Z0-9]+$/, { timeout: 20_000 });
  expect(new Set(keys).size).toBe(1);
  expect(await bookedUnder(request, keys[0])).toBe(200);
  expect(await remaining(request, DOCTOR, slot.id, base)).toBe(before - 1);
});

test('a reload mid-retry keeps the booking on its way and takes no second place', async ({ page, request }) => {
  const slot = await nextSlot(request);
  const before = await remaining(request, DOCTOR, slot.id, base);
  await upToReview(page, slot);
  const keys = bookingPosts(page);
  // The booking endpoint cannot be reached; the rest of the API can.
  await page.route('**/api/v1/bookings', (route) => route.abort('connectionreset'));
  await page.route('**/api/v1/bookings/by-key', (route) => route.abort('connectionreset'));
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(waiting(page)).toBeVisible();
  // While it waits, the request (with the patient's details) is on the device …
  const pending = await outboxRecords(page);
  expect(pending.length).toBe(1);
  expect(pending[0]).toContain(ID);

  const holds: string[] = [];
  page.on('request', (r) => r.url().endsWith('/api/v1/holds') && holds.push(r.url()));
  await page.reload();
  await expect(waiting(page)).toBeVisible();
  expect(holds).toEqual([]);
  expect(await remaining(request, DOCTOR, slot.id, base)).toBe(before - 1);

  await page.unroute('**/api/v1/bookings');
  await page.unroute('**/api/v1/bookings/by-key');
  // The patient taps "try now"; a try already under way may get there first.
  await page
    .getByRole('button', { name: 'Try now' })
    .click({ timeout: 5_000 })
    .catch(() => {});
  await expect(page).toHaveURL(/\/bookings\/[A-Z0-9]+$/, { timeout: 20_000 });
  expect(new Set(keys).size).toBe(1);
  expect(await bookedUnder(request, keys[0])).toBe(200);
  // … and gone the moment it settled.
  expect(await outboxRecords(page)).toEqual([]);
  // The hold became the booking: one place, not two.
  expect(await remaining(request, DOCTOR, slot.id, base)).toBe(before - 1);
});

test('giving up stops the tries, says whether a request may have got through, and keeps what was typed', async ({ page, request }) => {
  const slot = await nextSlot(request);
  await upToReview(page, slot);
  await setFaults(request, 'burst=1000:1:503');
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(waiting(page)).toBeVisible();
  await page.getByRole('button', { name: 'Give up' }).click();
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('You stopped this booking');
  await expect(alert).toContainText('may have reached the hospital');
  expect(await outboxRecords(page).then((r) => r.some((x) => x.includes(ID)))).toBe(false);

  await request.delete(`${base}/api/v1/_faults`);
  await alert.getByRole('button', { name: 'Check again' }).click();
  await expect(alert).toContainText('no such booking was made');
  await alert.getByRole('button', { name: 'Dismiss' }).click();
  await page.getByRole('button', { name: 'Change' }).click();
  await expect(page.getByLabel('Full name')).toHaveValue('Li Lei');
  await expect(page.getByLabel('Document number')).toHaveValue(ID);
});

test('two tabs never both send, and a closed tab\'s booking is carried on by the other', async ({ page, context, request }) => {
  const slot = await nextSlot(request);
  const before = await remaining(request, DOCTOR, slot.id, base);
  const other = await context.newPage();
  await upToReview(page, slot);
  await other.goto(`${base}/bookings?lang=en`);
  const fromFirst = bookingPosts(page);
  const fromOther = bookingPosts(other);
  await setFaults(request, 'burst=1:3:503');
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(waiting(page)).toBeVisible();
  // The other tab shows the booking on its way, but leaves the sending to the first.
  await expect(banner(other)).toContainText('Waiting to send');
  expect(fromOther).toEqual([]);

  // The first tab is closed before its next try; the other takes over and books once.
  await page.close();
  await expect(banner(other)).toContainText('Booking confirmed, code', { timeout: 20_000 });
  expect(fromFirst.length).toBe(1);
  expect(fromOther.length).toBeGreaterThanOrEqual(1);
  expect(new Set([...fromFirst, ...fromOther]).size).toBe(1);
  expect(await bookedUnder(request, fromFirst[0])).toBe(200);
  expect(await remaining(request, DOCTOR, slot.id, base)).toBe(before - 1);
});

/** Serves the page a config of the test's own (same API, other settings). */
async function withConfig(page: Page, api: Record<string, unknown>) {
  await page.route('**/config.json', (route) =>
    route.fulfill({
      contentType: 'application/json',
      body: JSON.stringify({ api: { kind: 'native', base_urls: ['/api/v1'], ...api }, channel: 'web', locale: 'en' }),
    }),
  );
}

test('a server slower than the app\'s timeout: the app asks by key and the booking is made once', async ({ page, request }) => {
  test.setTimeout(60_000);
  await withConfig(page, { timeout_ms: 2000 });
  const slot = await nextSlot(request);
  const before = await remaining(request, DOCTOR, slot.id, base);
  await upToReview(page, slot);
  const keys = bookingPosts(page);
  await setFaults(request, 'latency=3s');
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(waiting(page)).toContainText('no answer from the booking service', { timeout: 10_000 });
  await request.delete(`${base}/api/v1/_faults`);
  await expect(page).toHaveURL(/\/bookings\/[A-Z0-9]+$/, { timeout: 30_000 });
  expect(new Set(keys).size).toBe(1);
  expect(await bookedUnder(request, keys[0])).toBe(200);
  expect(await remaining(request, DOCTOR, slot.id, base)).toBe(before - 1);
});

test('the first API endpoint down: the booking goes through the next one', async ({ page, request }) => {
  await withConfig(page, { base_urls: ['http://127.0.0.1:9/api/v1', '/api/v1'] });
  const slot = await nextSlot(request);
  const before = await remaining(request, DOCTOR, slot.id, base);
  await upToReview(page, slot);
  const keys = bookingPosts(page);
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(page).toHaveURL(/\/bookings\/[A-Z0-9]+$/, { timeout: 20_000 });
  expect(await bookedUnder(request, keys[0])).toBe(200);
  expect(await remaining(request, DOCTOR, slot.id, base)).toBe(before - 1);
});

test('closed with a booking waiting and opened again: it carries on and settles', async ({ page, context, request }) => {
  const slot = await nextSlot(request);
  const before = await remaining(request, DOCTOR, slot.id, base);
  await upToReview(page, slot);
  const keys: string[] = [];
  context.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/api/v1/bookings')) keys.push(r.headers()['idempotency-key']);
  });
  await context.route('**/api/v1/bookings', (route) => route.abort('connectionreset'));
  await context.route('**/api/v1/bookings/by-key', (route) => route.abort('connectionreset'));
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(waiting(page)).toBeVisible();
  await page.close();

  await context.unroute('**/api/v1/bookings');
  await context.unroute('**/api/v1/bookings/by-key');
  const again = await context.newPage();
  await again.goto(`${base}/?lang=en`);
  await expect(banner(again)).toContainText('Booking confirmed, code', { timeout: 20_000 });
  expect(new Set(keys).size).toBe(1);
  expect(await bookedUnder(request, keys[0])).toBe(200);
  expect(await remaining(request, DOCTOR, slot.id, base)).toBe(before - 1);
});

test('random failures and dropped answers, seeded: every booking ends confirmed exactly once', async ({ page, request }, info) => {
  test.setTimeout(90_000);
  // A different seed for each repetition (npx playwright test --repeat-each=N).
  const seed = Number(process.env.FAIRSLOT_FAULT_SEED ?? 1) + info.repeatEachIndex;
  for (let round = 0; round < 2; round++) {
    // Another patient each round: the same one would be refused the doctor twice a day.
    ({ id: ID, phone: PHONE } = freshPerson());
    const slot = await nextSlot(request);
    const before = await remaining(request, DOCTOR, slot.id, base);
    await upToReview(page, slot);
    const keys = bookingPosts(page);
    await setFaults(request, `error_rate=0.3,drop_after_commit=0.5,seed=${seed * 10 + round}`);
    await page.getByRole('button', { name: 'Confirm booking' }).click();
    // An impatient patient: taps "try now" (or "keep trying") rather than wait out the backoff.
    const confirmed = /\/bookings\/[A-Z0-9]+$/;
    for (let waited = 0; !confirmed.test(page.url()) && waited < 60; waited++) {
      // Every step is bounded: the button may go at any moment, when the booking goes through.
      for (const name of ['Try now', 'Keep trying']) {
        const button = page.getByRole('button', { name, disabled: false });
        if ((await button.count()) === 1) await button.click({ timeout: 1_000 }).catch(() => {});
      }
      await page.waitForTimeout(1_000);
    }
    await expect(page).toHaveURL(confirmed);
    await request.delete(`${base}/api/v1/_faults`);
    expect(new Set(keys).size, `seed ${seed}`).toBe(1);
    expect(await bookedUnder(request, keys[0])).toBe(200);
    expect(await remaining(request, DOCTOR, slot.id, base), `seed ${seed}`).toBe(before - 1);
  }
});

test.describe('with holds of three seconds', () => {
  let short: OwnServer;
  test.beforeAll(async () => {
    short = await startServer(['--hold-seconds', '3']);
  });
  test.afterAll(() => short?.stop());

  /** Another patient books the slot straight through the API. */
  async function someoneElseBooks(request: APIRequestContext, slotId: string) {
    const other = await request.post(`${short.base}/api/v1/bookings`, {
      headers: { 'Idempotency-Key': `someone-else-${slotId}` },
      data: { slot_id: slotId, patient: { name: '韩梅梅', document_kind: 'passport', document_number: freshPassport(), phone: freshPerson().phone, relationship: 'self', consent: true } },
    });
    expect(other.status()).toBe(201);
  }

  test('the slot taken by someone else while the patient was offline: told so, with other slots', async ({ page, context, request }) => {
    const doctor = 'h1-cardio-3'; // one place per slot
    const { slot } = await freeSlot(request, doctor, 0, 1, short.base);
    await upToReview(page, slot, doctor, short.base);
    const keys = bookingPosts(page);
    await context.setOffline(true);
    await page.getByRole('button', { name: 'Confirm booking' }).click();
    await expect(waiting(page)).toBeVisible();
    // The hold runs out (its place is free again) and another patient books the last place.
    await expect.poll(() => remaining(request, doctor, slot.id, short.base), { timeout: 10_000 }).toBe(1);
    await someoneElseBooks(request, slot.id);

    await context.setOffline(false);
    const refusal = page.getByRole('alert');
    await expect(refusal).toContainText('This slot has just been taken', { timeout: 20_000 });
    expect(await refusal.locator('a.alternative').count()).toBeGreaterThan(0);
    expect(new Set(keys).size).toBe(1);
    expect((await request.post(`${short.base}/api/v1/bookings/by-key`, { data: { idempotency_key: keys[0] } })).status()).toBe(404);
    // Refused for good: nothing of the patient is left in the outbox.
    expect((await outboxRecords(page)).some((r) => r.includes(ID))).toBe(false);
  });

  test('refused while the patient was on another page: the banner says why and links the other slots', async ({ page, context, request }) => {
    const doctor = 'h1-cardio-3';
    const { slot } = await freeSlot(request, doctor, 1, 1, short.base);
    await upToReview(page, slot, doctor, short.base);
    await context.setOffline(true);
    await page.getByRole('button', { name: 'Confirm booking' }).click();
    await expect(waiting(page)).toBeVisible();
    await page.getByRole('link', { name: 'My bookings' }).first().click();
    await expect(banner(page)).toContainText('Waiting to send');
    await expect.poll(() => remaining(request, doctor, slot.id, short.base), { timeout: 10_000 }).toBe(1);
    await someoneElseBooks(request, slot.id);

    await context.setOffline(false);
    await expect(banner(page)).toContainText('Booking not made: This slot has just been taken', { timeout: 20_000 });
    const alternative = banner(page).locator('a.alternative').first();
    await expect(alternative).toBeVisible();
    await expectAccessible(page);
    await alternative.click();
    await expect(page).toHaveURL(/\/book\//);
    await expect(page.getByRole('timer')).toBeVisible();
    await expect(banner(page)).toHaveCount(0);
  });
});
