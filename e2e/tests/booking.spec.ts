import type { APIRequestContext, Page } from '@playwright/test';
import {
  api,
  expect,
  expectAccessible,
  fillPatient as fillPatientOf,
  freeSlot as freeSlotOf,
  freshPassport,
  freshPerson,
  hhmm,
  lookupBooking,
  maskedMobile,
  remaining,
  test,
  type Open,
  type Person,
  type Schedule,
} from './support';

// Each test books for someone of its own: the server's real-name rules (one booking per person per
// doctor and department a day, a few active ones per person and per phone) count across tests.
let person: Person;
test.beforeEach(() => {
  person = freshPerson();
});

/** The patient's ID with one digit off: the check character no longer matches. */
function typo(id: string): string {
  return `${id.slice(0, 16)}${(Number(id[16]) + 1) % 10}${id[17]}`;
}

/**
 * A bookable slot of a doctor in h1-cardio with at least `min` places. The phone and desktop
 * projects run side by side against one server, so each takes its own slots.
 */
function freeSlot(request: APIRequestContext, doctor: string, min = 1, nth = 0): Promise<Open> {
  return freeSlotOf(request, doctor, nth + (test.info().project.name === 'phone' ? 20 : 0), min);
}

const bookUrl = (doctor: string, slot: string) => `/hospitals/h1/departments/h1-cardio/doctors/${doctor}/book/${slot}`;

function fillPatient(page: Page, en: boolean, who: Person = person) {
  return fillPatientOf(page, who, en);
}

for (const lang of ['zh-CN', 'en'] as const) {
  const en = lang === 'en';
  test(`a patient books a slot from the schedule and gets a ticket (${lang})`, async ({ page, request }) => {
    const { session, slot } = await freeSlot(request, 'h1-cardio-5', 1, en ? 1 : 0);
    const before = await remaining(request, 'h1-cardio-5', slot.id);
    await page.goto(`/hospitals/h1/departments/h1-cardio/doctors/h1-cardio-5?day=${session.date}&lang=${lang}`);
    const urls: string[] = [];
    const logs: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    page.on('console', (m) => logs.push(m.text()));
    const link = page.locator(`.slot[data-slot="${slot.id}"] a`);
    // Screen readers hear the time and the places left as two phrases, not one run-on word.
    await expect(link).toHaveAccessibleName(`${hhmm(slot.start)}–${hhmm(slot.end)} ${en ? `${slot.remaining} left` : `余 ${slot.remaining}`}`);
    await link.click();
    await expect(page).toHaveURL(new RegExp(`/book/${slot.id}$`));
    await expect(page.getByRole('timer')).toContainText(en ? 'held for you for 4:' : '剩余 4:');
    await expect(page.locator('.hold-warning')).toBeEmpty();
    expect(await remaining(request, 'h1-cardio-5', slot.id)).toBe(before - 1);
    await expect(page.locator('.slot-summary')).toContainText(`${hhmm(slot.start)}–${hhmm(slot.end)}`);
    await expectAccessible(page);

    // Mistakes are explained as they are made, and nothing moves on until they are fixed.
    await page.getByLabel(en ? 'Document number' : '证件号码').fill(typo(person.id));
    await page.getByLabel(en ? 'Mobile number' : '手机号码').focus();
    await expect(page.locator('#patient-document-error')).toContainText(en ? 'last character does not match' : '校验位不符');
    await page.getByRole('button', { name: en ? 'Continue' : '下一步' }).click();
    await expect(page.getByRole('alert').first()).toContainText(en ? 'correct the marked fields' : '请修改标出的信息');
    await expect(page.locator('#patient-name-error')).not.toBeEmpty();
    await expectAccessible(page);

    await fillPatient(page, en);
    await expect(page.locator('#patient-document-error')).toBeEmpty();
    await page.getByRole('button', { name: en ? 'Continue' : '下一步' }).click();

    // Review: identity masked, and never the last four characters, the proof of ownership.
    const review = page.locator('.review');
    await expect(review).toContainText(person.masked);
    await expect(review).not.toContainText(person.last4);
    await expect(review).toContainText(maskedMobile(person.phone));
    await expect(review).not.toContainText(person.id);
    await expect(review).not.toContainText(en ? 'Li Lei' : '李雷');
    await expect(review).toContainText(en ? 'L*****' : '李*');
    await expectAccessible(page);
    await page.getByRole('button', { name: en ? 'Confirm booking' : '确认预约' }).click();

    await expect(page).toHaveURL(/\/bookings\/[A-Z0-9]+$/);
    const code = page.url().split('/').pop()!;
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(en ? 'You are booked' : '预约成功');
    await expect(page.locator('.ticket-code')).toHaveText(code);
    await expect(page.locator('.ticket')).toContainText(`${hhmm(slot.start)}–${hhmm(slot.end)} (UTC+08:00)`);
    // The ticket, which is printed and may be left behind, does not show the proof either.
    await expect(page.locator('.ticket')).toContainText(person.masked);
    await expect(page.locator('.ticket')).not.toContainText(person.last4);
    await expectAccessible(page);

    // The server has it, attributed to the configured channel, and counted once.
    const booking = await lookupBooking<{ status: string; channel: string; slot: { slot_id: string } }>(request, code, person.last4);
    expect(booking).toMatchObject({ status: 'confirmed', channel: 'web', slot: { slot_id: slot.id } });
    expect(await remaining(request, 'h1-cardio-5', slot.id)).toBe(before - 1);

    // Calendar file in UTC; nothing personal in it.
    const href = await page.getByRole('link', { name: en ? 'Add to calendar' : '添加到日历' }).getAttribute('href');
    const ics = decodeURIComponent(href!.replace('data:text/calendar;charset=utf-8,', ''));
    const start = new Date(slot.start).toISOString().replace(/[-:]/g, '').replace('.000', '');
    expect(ics).toContain(`DTSTART:${start}`);
    // Compared without the timestamps, whose digits may happen to contain any four.
    const words = ics.replace(/^(DTSTART|DTEND|DTSTAMP)[^\r\n]*/gm, '');
    expect(words).not.toContain(person.phone.slice(0, 3));
    expect(words).not.toContain(person.last4);

    // Identity is in no URL and in no storage on the device.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    for (const secret of [person.id, person.phone, 'Li Lei', '李雷', person.last4, encodeURIComponent('李雷')]) {
      expect(stored).not.toContain(secret);
      for (const u of [...urls, page.url()]) expect(u).not.toContain(secret);
      for (const line of logs) expect(line).not.toContain(secret);
    }
    expect(stored).toContain(code);

    // On paper only the ticket is printed, narrow enough for an 80 mm receipt roll.
    await page.emulateMedia({ media: 'print' });
    await expect(page.locator('.topbar')).toBeHidden();
    await expect(page.locator('.actions')).toBeHidden();
    const width = await page.locator('.ticket').evaluate((el) => el.getBoundingClientRect().width);
    expect(width).toBeLessThanOrEqual((80 / 25.4) * 96);
    await page.emulateMedia({ media: 'screen' });

    await page.getByRole('link', { name: en ? 'My bookings' : '我的预约' }).last().click();
    await expect(page.locator(`.booking-item[data-code="${code}"]`)).toBeVisible();
  });
}

test('a double tap on confirm makes exactly one booking', async ({ page, request }) => {
  const { slot } = await freeSlot(request, 'h1-cardio-6', 2, 2);
  const before = await remaining(request, 'h1-cardio-6', slot.id);
  await page.goto(`${bookUrl('h1-cardio-6', slot.id)}?lang=en`);
  await fillPatient(page, true);
  await page.getByRole('button', { name: 'Continue' }).click();
  const posts: string[] = [];
  page.on('request', (r) => r.method() === 'POST' && r.url().endsWith('/bookings') && posts.push(r.headers()['idempotency-key']));
  const confirm = page.getByRole('button', { name: 'Confirm booking' });
  await confirm.evaluate((b: HTMLButtonElement) => {
    b.click();
    b.click();
  });
  await expect(page).toHaveURL(/\/bookings\/[A-Z0-9]+$/);
  expect(posts.length).toBe(1);
  expect(await remaining(request, 'h1-cardio-6', slot.id)).toBe(before - 1);
});

test('two patients racing for the last place: one is booked, the other is offered alternatives', async ({ browser, request }) => {
  const { slot } = await freeSlot(request, 'h1-cardio-3', 1, 3);
  expect(slot.remaining).toBe(1);
  const first = await (await browser.newContext()).newPage();
  const second = await (await browser.newContext()).newPage();
  await first.goto(`${bookUrl('h1-cardio-3', slot.id)}?lang=en`);
  await expect(first.getByRole('timer')).toBeVisible();
  await second.goto(`${bookUrl('h1-cardio-3', slot.id)}?lang=en`);
  const refusal = second.getByRole('alert');
  await expect(refusal).toContainText('This slot has just been taken');
  const alternatives = refusal.locator('a.alternative');
  expect(await alternatives.count()).toBeGreaterThan(0);
  expect(await alternatives.count()).toBeLessThanOrEqual(3);
  await expectAccessible(second);

  await fillPatient(first, true);
  await first.getByRole('button', { name: 'Continue' }).click();
  await first.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(first).toHaveURL(/\/bookings\/[A-Z0-9]+$/);

  // The alternative really is free: the second patient books it.
  await alternatives.first().click();
  await expect(second.getByRole('timer')).toBeVisible();
  // Someone else: the same person would be refused a second slot of the doctor that day.
  await fillPatient(second, true, freshPerson());
  await second.getByRole('button', { name: 'Continue' }).click();
  await second.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(second).toHaveURL(/\/bookings\/[A-Z0-9]+$/);
  expect(await remaining(request, 'h1-cardio-3', slot.id)).toBe(0);
});

test('the server\'s own validation is shown next to the field, and nothing typed is lost', async ({ page, request }) => {
  const { slot } = await freeSlot(request, 'h1-cardio-4', 1, 4);
  await page.goto(`${bookUrl('h1-cardio-4', slot.id)}?lang=en`);
  await fillPatient(page, true);
  await page.getByRole('button', { name: 'Continue' }).click();
  // The server checks for itself: send it a phone number the form would not have let through.
  await page.route('**/api/v1/bookings', async (route) => {
    const body = JSON.parse(route.request().postData()!);
    body.patient.phone = '12345';
    await route.continue({ postData: JSON.stringify(body) });
  });
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(page.locator('#patient-phone-error')).toContainText('Enter an 11-digit mobile number');
  await expect(page.getByLabel('Full name')).toHaveValue('Li Lei');
  await expect(page.getByLabel('Document number')).toHaveValue(person.id);
  await page.unroute('**/api/v1/bookings');
  await page.getByLabel('Mobile number').fill('13912345678');
  await expect(page.locator('#patient-phone-error')).toBeEmpty();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(page).toHaveURL(/\/bookings\/[A-Z0-9]+$/);
});

test('when the service is unavailable the booking waits on the device, says so in the patient\'s language, and goes through later', async ({ page, request }) => {
  const { slot } = await freeSlot(request, 'h1-cardio-4', 1, 9);
  const before = await remaining(request, 'h1-cardio-4', slot.id);
  await page.goto(`${bookUrl('h1-cardio-4', slot.id)}?lang=zh-CN`);
  await fillPatient(page, false);
  await page.getByRole('button', { name: '下一步' }).click();
  await page.route('**/api/v1/bookings', (route) =>
    route.fulfill({
      status: 503,
      contentType: 'application/problem+json',
      headers: { 'Retry-After': '2' },
      body: JSON.stringify({ type: 'urn:fairslot:problem:unavailable', title: 'Service unavailable', status: 503 }),
    }),
  );
  await page.getByRole('button', { name: '确认预约' }).click();
  const status = page.getByRole('status').filter({ hasText: '等待发送 — 预约尚未确认' });
  await expect(status).toContainText('预约服务繁忙或暂不可用');
  await expectAccessible(page);
  expect(await remaining(request, 'h1-cardio-4', slot.id)).toBe(before - 1); // the hold, not a booking
  await page.unroute('**/api/v1/bookings');
  await expect(page).toHaveURL(/\/bookings\/[A-Z0-9]+$/, { timeout: 20_000 });
  await expect(page.locator('.ticket')).toContainText('李*');
  expect(await remaining(request, 'h1-cardio-4', slot.id)).toBe(before - 1);
});

test('a stopped session cannot be booked', async ({ page, request }) => {
  const schedule = await api<Schedule>(request, '/schedules?doctor=h1-cardio-2&days=3');
  // The demo data keeps h1-cardio-2 on leave: every afternoon is stopped (server/src/seed).
  const stopped = schedule.sessions.find((s) => s.status === 'stopped' && s.slots.length > 0);
  expect(stopped, 'a stopped session of h1-cardio-2 with its slots listed').toBeDefined();
  const holds: string[] = [];
  page.on('request', (r) => r.url().includes('/api/v1/holds') && holds.push(r.url()));
  await page.goto(`${bookUrl('h1-cardio-2', stopped!.slots[0].id)}?lang=en`);
  await expect(page.getByRole('alert')).toContainText('stopped or is not open for booking');
  await expect(page.getByRole('timer')).toHaveCount(0);
  expect(holds).toEqual([]);
});

test('a reload keeps the hold, and leaving the booking page gives the place back', async ({ page, request }) => {
  const { session, slot } = await freeSlot(request, 'h1-cardio-5', 1, 6);
  const before = await remaining(request, 'h1-cardio-5', slot.id);
  await page.goto(`${bookUrl('h1-cardio-5', slot.id)}?lang=en`);
  await expect(page.getByRole('timer')).toBeVisible();
  expect(await remaining(request, 'h1-cardio-5', slot.id)).toBe(before - 1);
  // A reload goes on with the same hold instead of taking a second place.
  await page.reload();
  await expect(page.getByRole('timer')).toBeVisible();
  expect(await remaining(request, 'h1-cardio-5', slot.id)).toBe(before - 1);
  await page.getByRole('link', { name: 'Back to the schedule' }).click();
  await expect(page).toHaveURL(new RegExp(`doctors/h1-cardio-5\\?day=${session.date}`));
  await expect.poll(() => remaining(request, 'h1-cardio-5', slot.id)).toBe(before);
});

test('cancel a booking with the document\'s last four characters, then rebook the doctor', async ({ page, request }) => {
  const { slot } = await freeSlot(request, 'h1-cardio-6', 1, 7);
  const before = await remaining(request, 'h1-cardio-6', slot.id);
  await page.goto(`${bookUrl('h1-cardio-6', slot.id)}?lang=en`);
  await fillPatient(page, true);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(page).toHaveURL(/\/bookings\/[A-Z0-9]+$/);
  const code = page.url().split('/').pop()!;
  await page.goto('/bookings?lang=en');
  const item = page.locator(`.booking-item[data-code="${code}"]`);
  await item.getByRole('button', { name: 'Cancel booking' }).click();
  await expectAccessible(page);
  await item.getByLabel('Last 4 characters of the ID document').fill('9999');
  await item.getByRole('button', { name: 'Yes, cancel' }).click();
  await expect(item.getByRole('alert')).toContainText('do not match the document');
  await item.getByLabel('Last 4 characters of the ID document').fill(person.last4);
  await item.getByRole('button', { name: 'Yes, cancel' }).click();
  await expect(page.locator(`.booking-item[data-code="${code}"] .badge`)).toHaveText('Cancelled');
  expect(await remaining(request, 'h1-cardio-6', slot.id)).toBe(before);
  const server = await lookupBooking<{ status: string }>(request, code, person.last4);
  expect(server.status).toBe('cancelled');
  await page.locator(`.booking-item[data-code="${code}"]`).getByRole('link', { name: 'Book this doctor again' }).click();
  await expect(page).toHaveURL(/\/doctors\/h1-cardio-6$/);
  await expect(page.locator('.slot-link').first()).toBeVisible();
});

test('any booking can be found by code and the last four characters', async ({ page, request }) => {
  const { slot } = await freeSlot(request, 'h1-cardio-5', 1, 8);
  const passport = freshPassport();
  const res = await request.post('/api/v1/bookings', {
    headers: { 'Idempotency-Key': `lookup-${Date.now()}`, 'X-Fairslot-Channel': 'phone-line' },
    data: { slot_id: slot.id, patient: { name: '王芳', document_kind: 'passport', document_number: passport, phone: person.phone, relationship: 'self', consent: true } },
  });
  expect(res.status()).toBe(201);
  const { code } = await res.json();
  await page.goto('/bookings?lang=en');
  await page.getByLabel('Booking code').fill(code.toLowerCase());
  await page.locator('#lookup-last4').fill(passport.slice(-4));
  await page.getByRole('button', { name: 'Find' }).click();
  await expect(page.locator(`.booking-item[data-code="${code}"]`)).toBeVisible();
  await expectAccessible(page);
});
