import type { APIRequestContext, Page } from '@playwright/test';
import {
  bookableSlots,
  bookThroughApi,
  clientToken,
  expect,
  expectAccessible,
  freshPerson,
  startServer,
  test,
  type Open,
  type OwnServer,
  type Person,
} from './support';

// The real-name booking rules (实名制) and the lock on a booking code, as a patient meets them: the
// earlier bookings are made through the API, as another channel would make them, then the patient
// tries in the app. Each refusal says which rule applies and what to do next, in both languages,
// and the form keeps what was typed. Servers of this file's own, so each rule can be set on its
// own and the shared server's bookings never count.

/** Free slots of the cardiology department a day or more ahead (so cancelling is still open). */
const openSlots = (request: APIRequestContext, server: OwnServer) => bookableSlots(request, 'department=h1-cardio', 1, server.base);

/** Slots taken by earlier tests of this file (on the same server) are not offered again. */
const used = new Set<string>();
function take(open: Open[], wanted: (o: Open) => boolean = () => true): Open {
  const found = open.find((o) => !used.has(o.slot.id) && wanted(o));
  expect(found, 'a free slot in the demo data').toBeTruthy();
  used.add(found!.slot.id);
  return found!;
}

const en = (lang: string) => lang === 'en';

/** Opens the booking page of `o` and confirms it for `person`; resolves once the refusal shows. */
async function tryToBook(page: Page, server: OwnServer, o: Open, person: Person, lang: string) {
  const url = `${server.base}/hospitals/h1/departments/h1-cardio/doctors/${o.session.doctor_id}/book/${o.slot.id}?lang=${lang}`;
  await page.goto(url);
  await expect(page.getByRole('timer')).toBeVisible();
  const e = en(lang);
  await page.getByLabel(e ? 'Full name' : '姓名').fill(e ? 'Li Lei' : '李雷');
  await page.getByLabel(e ? 'Document number' : '证件号码').fill(person.id);
  await page.getByLabel(e ? 'Mobile number' : '手机号码').fill(person.phone);
  await page.getByLabel(e ? /I have read/ : /我已阅读/).check();
  await page.getByRole('button', { name: e ? 'Continue' : '下一步' }).click();
  await expect(page.locator('.review')).toContainText(person.masked);
  await page.getByRole('button', { name: e ? 'Confirm booking' : '确认预约' }).click();
}

/** The refusal on the review, then: nothing typed is lost, and the page passes axe. */
async function expectRefusal(page: Page, person: Person, lang: string, ...texts: (string | RegExp)[]) {
  const alert = page.locator('.review').getByRole('alert');
  for (const text of texts) await expect(alert).toContainText(text);
  // The booking was not made: the page stays, and no ticket is shown.
  await expect(page).toHaveURL(/\/book\//);
  await expectAccessible(page);
  await page.getByRole('button', { name: en(lang) ? 'Change' : '修改' }).click();
  await expect(page.getByLabel(en(lang) ? 'Document number' : '证件号码')).toHaveValue(person.id);
  await expect(page.getByLabel(en(lang) ? 'Mobile number' : '手机号码')).toHaveValue(person.phone);
}

test.describe('one booking per person per doctor and per department a day', () => {
  let server: OwnServer;
  test.beforeAll(async () => {
    server = await startServer([]);
  });
  test.afterAll(() => server?.stop());

  for (const lang of ['en', 'zh-CN']) {
    test(`a second slot of the same doctor that day is refused with the rule and what to do (${lang})`, async ({ page, request }) => {
      const open = await openSlots(request, server);
      const first = take(open, (o) => open.some((x) => x.session.id === o.session.id && x.slot.id !== o.slot.id && !used.has(x.slot.id)));
      const second = take(open, (o) => o.session.id === first.session.id);
      const person = freshPerson();
      await bookThroughApi(request, first.slot.id, person, server.base);
      await tryToBook(page, server, second, person, lang);
      await expectRefusal(
        page,
        person,
        lang,
        ...(en(lang)
          ? ['already has as many bookings with this doctor on that day as are allowed', 'cancel the other booking in My bookings']
          : ['当天在这位医生处的预约已达上限', '请先在“我的预约”中取消原预约']),
      );
    });

    test(`another doctor of the same department that day is refused with the rule and what to do (${lang})`, async ({ page, request }) => {
      const open = await openSlots(request, server);
      const pair = (o: Open) =>
        open.some((x) => x.session.date === o.session.date && x.session.doctor_id !== o.session.doctor_id && !used.has(x.slot.id));
      const first = take(open, pair);
      const second = take(open, (o) => o.session.date === first.session.date && o.session.doctor_id !== first.session.doctor_id);
      const person = freshPerson();
      await bookThroughApi(request, first.slot.id, person, server.base);
      await tryToBook(page, server, second, person, lang);
      await expectRefusal(
        page,
        person,
        lang,
        ...(en(lang)
          ? ['already has as many bookings in this department on that day as are allowed', 'Choose another day']
          : ['当天在该科室的预约已达上限', '请选择其他日期']),
      );
    });
  }
});

test.describe('a few active bookings per person and per mobile number', () => {
  let server: OwnServer;
  test.beforeAll(async () => {
    // Only the rules under test: the daily ones would refuse first.
    server = await startServer(['--per-doctor-day', '0', '--per-department-day', '0', '--active-per-person', '2', '--active-per-phone', '2']);
  });
  test.afterAll(() => server?.stop());

  for (const lang of ['en', 'zh-CN']) {
    test(`a person with the most active bookings is told to cancel one first (${lang})`, async ({ page, request }) => {
      const open = await openSlots(request, server);
      const person = freshPerson();
      await bookThroughApi(request, take(open).slot.id, person, server.base);
      await bookThroughApi(request, take(open).slot.id, person, server.base);
      await tryToBook(page, server, take(open), person, lang);
      await expectRefusal(
        page,
        person,
        lang,
        ...(en(lang)
          ? ['This patient already has 2 upcoming bookings', 'Cancel one in My bookings to book another']
          : ['此就诊人已有 2 个未就诊的预约', '请在“我的预约”中取消其中一个后再预约']),
      );
    });

    test(`a mobile number on the most active bookings is refused for a new patient too (${lang})`, async ({ page, request }) => {
      const open = await openSlots(request, server);
      const phone = freshPerson().phone;
      await bookThroughApi(request, take(open).slot.id, { ...freshPerson(), phone }, server.base);
      await bookThroughApi(request, take(open).slot.id, { ...freshPerson(), phone }, server.base);
      const person = { ...freshPerson(), phone };
      await tryToBook(page, server, take(open), person, lang);
      await expectRefusal(
        page,
        person,
        lang,
        ...(en(lang)
          ? ['This mobile number is already on 2 upcoming bookings', "give the patient's own mobile number"]
          : ['此手机号码已用于 2 个未就诊的预约', '填写就诊人本人的手机号码']),
      );
    });
  }
});

test.describe('a cooling-off period after late cancellations', () => {
  let server: OwnServer;
  test.beforeAll(async () => {
    // Any cancellation within 30 days of the slot is late, and one starts the cooling-off period.
    server = await startServer(['--per-doctor-day', '0', '--per-department-day', '0', '--late-cancels', '1', '--late-cancel-minutes', '43200']);
  });
  test.afterAll(() => server?.stop());

  for (const lang of ['en', 'zh-CN']) {
    test(`a person in a cooling-off period is told from when they can book again, in hospital time (${lang})`, async ({ page, request }) => {
      const open = await openSlots(request, server);
      const person = freshPerson();
      const { code } = await bookThroughApi(request, take(open).slot.id, person, server.base);
      const cancel = await request.post(`${server.base}/api/v1/bookings/${code}/cancel`, { data: { document_last4: person.last4 } });
      expect(cancel.ok(), `cancel -> ${cancel.status()}`).toBeTruthy();
      // The end of the period, as the server states it, in the hospital's time (UTC+08:00).
      const next = take(open);
      const refused = await request.post(`${server.base}/api/v1/bookings`, {
        headers: { 'Idempotency-Key': `e2e-${clientToken()}` },
        data: { slot_id: next.slot.id, patient: { name: '王芳', document_kind: 'resident_id', document_number: person.id, phone: person.phone, relationship: 'self', consent: true } },
      });
      expect(refused.status()).toBe(409);
      const problem = await refused.json();
      expect(problem).toMatchObject({ type: 'urn:fairslot:problem:booking-limit', rule: 'cooling_off' });
      const local = new Date(Date.parse(problem.until) + 8 * 3_600_000).toISOString();
      const until = `${local.slice(0, 10)} ${local.slice(11, 16)}`;

      await tryToBook(page, server, next, person, lang);
      await expectRefusal(
        page,
        person,
        lang,
        ...(en(lang)
          ? [`cannot book again until ${until} (hospital time)`, 'call the hospital']
          : [`${until} 起可以再次预约`, '请致电医院']),
      );
    });
  }
});

test.describe('a booking code locked after wrong proofs', () => {
  let server: OwnServer;
  test.beforeAll(async () => {
    server = await startServer(['--proof-attempts', '3']);
  });
  test.afterAll(() => server?.stop());

  for (const lang of ['en', 'zh-CN']) {
    test(`lookup and cancel say the code is locked and until when (${lang})`, async ({ page, request }) => {
      const e = en(lang);
      const open = await openSlots(request, server);
      const person = freshPerson();
      const booking = await bookThroughApi<{ code: string; status: string; slot: unknown; cancel_deadline: string }>(
        request,
        take(open).slot.id,
        person,
        server.base,
      );
      // Someone guessing at the proof.
      let status = 0;
      for (let i = 0; i < 3; i++) {
        const wrong = `${(1000 + i) % 10_000}`;
        const res = await request.post(`${server.base}/api/v1/bookings/${booking.code}/lookup`, { data: { document_last4: wrong === person.last4 ? '0000' : wrong } });
        status = res.status();
      }
      expect([404, 429]).toContain(status);
      const locked = await request.post(`${server.base}/api/v1/bookings/${booking.code}/lookup`, { data: { document_last4: person.last4 } });
      expect(locked.status()).toBe(429);

      // The owner, with the right proof, is told why it fails and when to try again.
      await page.goto(`${server.base}/bookings?lang=${lang}`);
      await page.getByLabel(e ? 'Booking code' : '预约号').fill(booking.code);
      await page.locator('#lookup-last4').fill(person.last4);
      await page.getByRole('button', { name: e ? 'Find' : '查询' }).click();
      const lookup = page.locator('form.lookup').getByRole('alert');
      await expect(lookup).toContainText(e ? /Too many wrong attempts for this booking code.*Try again after \d\d:\d\d/ : /输错次数过多，已暂时锁定。请于 \d\d:\d\d 后再试/);
      await expect(lookup).toContainText(e ? 'call the hospital' : '请致电医院');
      await expectAccessible(page);

      // The same on cancelling a booking of this device.
      const record = { code: booking.code, status: booking.status, slot: booking.slot, cancel_deadline: booking.cancel_deadline };
      await page.evaluate((r) => localStorage.setItem('fairslot.bookings', JSON.stringify([r])), record);
      await page.reload();
      const item = page.locator(`.booking-item[data-code="${booking.code}"]`);
      await item.getByRole('button', { name: e ? 'Cancel booking' : '取消预约' }).click();
      await item.getByLabel(e ? 'Last 4 characters of the ID document' : '证件号码后 4 位').fill(person.last4);
      await item.getByRole('button', { name: e ? 'Yes, cancel' : '确定取消' }).click();
      await expect(item.getByRole('alert')).toContainText(e ? /Too many wrong attempts.*Try again after \d\d:\d\d/ : /已暂时锁定。请于 \d\d:\d\d 后再试/);
      await expectAccessible(page);
      // Still booked.
      await expect(item.locator('.badge')).toHaveText(e ? 'Booked' : '已预约');
    });
  }
});

test('a hold refused for too many requests says how long to wait, and taking it again works after', async ({ page, request }) => {
  // The phone and desktop projects run side by side on the shared server: each takes its own.
  const open = await bookableSlots(request, 'department=h1-cardio');
  const { session, slot } = open[open.length - (test.info().project.name === 'phone' ? 2 : 5)];
  let refused = 0;
  await page.route('**/api/v1/holds', (route) => {
    if (route.request().method() !== 'POST' || refused++ > 0) return route.continue();
    return route.fulfill({
      status: 429,
      contentType: 'application/problem+json',
      headers: { 'Retry-After': '30' },
      body: JSON.stringify({ type: 'urn:fairslot:problem:rate-limited', title: 'Too many requests', status: 429 }),
    });
  });
  await page.goto(`/hospitals/h1/departments/h1-cardio/doctors/${session.doctor_id}/book/${slot.id}?lang=en`);
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Too many requests right now. Please wait 30 seconds and try again.');
  await expectAccessible(page);
  await alert.getByRole('button', { name: 'Try again' }).click();
  await expect(page.getByRole('timer')).toBeVisible();
  // The place is given back for the next test.
  await page.getByRole('link', { name: 'Back to the schedule' }).click();
});
