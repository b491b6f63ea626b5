import type { Page } from '@playwright/test';
import {
  ageReads,
  dayPlus,
  expect,
  expectAccessible,
  FHIR_SYSTEMS,
  fhirRequest,
  freeFhirSlot,
  freshMobile,
  freshPerson,
  startFhirServer,
  test,
  type FhirServer,
} from './support';

// The same build, pointed by config.json at a FHIR R4 server nobody on this project wrote:
// Medplum's router over its in-memory repository, seeded with e2e/fhir/seed.mjs. Run twice: as
// Medplum serves it (`--pure`: no paging links, no _include, no atomic transactions) and with the
// gap fills that make it behave like a fuller server (links, _include).

const ID = '11010519491231002X';
const ID_2 = '320106198808151237';
const PATIENT_SYSTEM = FHIR_SYSTEMS.residentId;
const KEY_SYSTEM = FHIR_SYSTEMS.bookingKey;
const CHANNEL = 'partner-fhir';

async function appointmentsOf(fhir: FhirServer, slotId: string): Promise<any[]> {
  const bundle = await fhirRequest(fhir, `Appointment?slot=Slot/${slotId}&_count=50`);
  return (bundle.entry ?? []).map((e: any) => e.resource);
}

/** The Patients made for the booking an Appointment records: those under its booking key. */
async function patientsOfBooking(fhir: FhirServer, appointment: any): Promise<any[]> {
  const key = appointment.identifier.find((i: any) => i.system === KEY_SYSTEM).value;
  const bundle = await fhirRequest(fhir, `Patient?identifier=${encodeURIComponent(`${KEY_SYSTEM}|${key}`)}`);
  return (bundle.entry ?? []).map((e: any) => e.resource);
}

async function fillPatient(page: Page, id = ID, mobile = '138 1234 5678', name = 'Li Lei') {
  await page.getByLabel('Full name').fill(name);
  await page.getByLabel('Document number').fill(id);
  await page.getByLabel('Mobile number').fill(mobile);
  await page.getByLabel(/I have read/).check();
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** Loses the answer to the first `POST` to `url`: the server stores it, the browser never hears. */
async function loseFirstCreateAnswer(page: Page, url: string): Promise<() => number> {
  let dropped = 0;
  await page.route(url, async (route) => {
    if (route.request().method() === 'POST' && dropped === 0) {
      dropped++;
      await route.fetch();
      await route.abort('connectionreset');
    } else {
      await route.continue();
    }
  });
  return () => dropped;
}

/** Whether a JSON value holds a Patient resource anywhere (a Bundle entry, a contained one...). */
function holdsPatient(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(holdsPatient);
  if (value && typeof value === 'object') {
    if ((value as any).resourceType === 'Patient') return true;
    return Object.values(value).some(holdsPatient);
  }
  return false;
}

/** Every body the page receives from the FHIR server, read as it arrives; `all()` waits for the reads. */
function recordFhirAnswers(page: Page, base: string) {
  const bodies: { url: string; body: string }[] = [];
  const reads: Promise<void>[] = [];
  page.on('response', (response) => {
    if (!response.url().startsWith(base)) return;
    reads.push(
      response
        .text()
        .then((body) => void bodies.push({ url: `${response.request().method()} ${response.url()}`, body }))
        .catch(() => undefined),
    );
  });
  return {
    all: async () => {
      await Promise.all(reads);
      return bodies;
    },
  };
}

const cardioDoctor = (role: string, day: string) =>
  `/hospitals/hosp-a/departments/hs.hs-a-cardio/doctors/${role}?day=${day}&lang=en`;

for (const mode of ['pure', 'filled'] as const) {
  test.describe(`a FHIR R4 backend (${mode})`, () => {
    let fhir: FhirServer;
    // The phone and desktop projects each start their own server; each takes its own slots too.
    const nth = () => (test.info().project.name === 'phone' ? 0 : 3);

    test.beforeAll(async () => {
      fhir = await startFhirServer(mode === 'pure');
    });
    test.afterAll(() => fhir?.stop());
    test.beforeEach(async ({ page }) => {
      await page.route('**/config.json', (route) =>
        route.fulfill({
          json: { api: { kind: 'fhir', base_urls: [fhir.base] }, channel: CHANNEL, locale: 'en', mode: { kind: 'phone' } },
        }),
      );
    });

    test('patients browse hospitals, both department styles, doctors and sessions', async ({ page }) => {
      await page.goto('/?lang=en');
      const cards = page.locator('.hospital-card');
      await expect(cards).toHaveCount(2);
      const a = cards.filter({ hasText: "Qingcheng First People's Hospital" });
      const b = cards.filter({ hasText: 'Jiangnan Central Hospital' });
      await expect(a.locator('.badge')).toHaveText('Grade 3A');
      // Hospital B states no grade and the app invents none.
      await expect(b.locator('.badge')).toHaveCount(0);
      await expect(b).toContainText('Xihu District');
      await expectAccessible(page);

      // Departments as HealthcareService, grouped by category.
      await a.getByRole('link').click();
      await expect(page.getByRole('heading', { level: 1 })).toHaveText("Qingcheng First People's Hospital");
      await expect(page.getByText('Internal Medicine')).toBeVisible();
      await expect(page.getByRole('link', { name: 'Gastroenterology' })).toBeVisible();
      await page.getByRole('link', { name: 'Cardiology' }).click();
      const wang = page.locator('.doctor-card').filter({ hasText: 'Jianguo Wang' });
      await expect(wang).toContainText('Chief physician');
      await expect(wang).toContainText('¥50.00');
      await expectAccessible(page);

      // Departments as Organizations two partOf levels down; no fees published there.
      await page.goto('/hospitals/hosp-b?lang=en');
      await expect(page.getByText('Paediatrics', { exact: true })).toBeVisible();
      await page.getByRole('link', { name: 'Respiratory Medicine' }).click();
      const huang = page.locator('.doctor-card').filter({ hasText: 'Zhiqiang Huang' });
      await expect(huang).toContainText('Chief physician');
      await expect(huang).not.toContainText('¥');
      await huang.getByRole('link').click();

      // Sessions derived from the slots, in hospital time; the all-unavailable day is stopped.
      await expect(page).toHaveURL(/\/doctors\/role-b-resp-1/);
      await expect(page.locator('.timezone-note')).toContainText('UTC+08:00');
      const stopped = page.locator(`.day[data-date="${dayPlus(2)}"]`);
      await expect(stopped).toHaveAttribute('data-state', 'stopped');
      await stopped.click();
      await expect(stopped).toHaveAttribute('aria-pressed', 'true');
      await expect(page.locator('.session-card[data-state="stopped"]')).toHaveCount(2);
      await page.locator(`.day[data-date="${dayPlus(3)}"]`).click();
      const first = await freeFhirSlot(fhir, 'b-resp-1', 3);
      await expect(page.locator(`.slot[data-slot="${first.id}"] a`)).toContainText(first.start.slice(11, 16));
      await expectAccessible(page);
    });

    test('a booking takes the slot, creates the patient and one appointment with the channel', async ({ page }) => {
      const slot = await freeFhirSlot(fhir, 'a-cardio-1', 4, nth());
      await page.goto(cardioDoctor('role-a-cardio-1', dayPlus(4)));
      await page.locator(`.slot[data-slot="${slot.id}"] a`).click();
      await expect(page).toHaveURL(new RegExp(`/book/${slot.id}`));
      // No hold in FHIR: the form comes at once, and says when the place is taken.
      await expect(page.getByText('does not hold slots')).toBeVisible();
      await expect(page.getByRole('timer')).toHaveCount(0);
      await expectAccessible(page);
      await fillPatient(page);
      await expect(page.locator('.review')).toContainText('1101**************');
      await page.getByRole('button', { name: 'Confirm booking' }).click();

      await expect(page).toHaveURL(/\/bookings\/[A-Z0-9-]+$/);
      const code = decodeURIComponent(page.url().split('/').pop()!);
      await expect(page.locator('.ticket-code')).toHaveText(code);
      await expect(page.locator('.ticket')).toContainText(`${slot.start.slice(11, 16)}–${slot.end.slice(11, 16)} (UTC+08:00)`);
      await expect(page.locator('.ticket')).toContainText('Jianguo Wang');
      await expectAccessible(page);

      const appointments = await appointmentsOf(fhir, slot.id);
      expect(appointments).toHaveLength(1);
      const appt = appointments[0];
      expect(appt.status).toBe('booked');
      expect(appt.meta.tag).toContainEqual(expect.objectContaining({ code: CHANNEL }));
      expect(appt.identifier).toContainEqual(expect.objectContaining({ value: code }));
      expect(appt.participant.map((p: any) => p.actor.reference)).toContainEqual('PractitionerRole/role-a-cardio-1');
      const stored = await fhirRequest(fhir, `Slot/${slot.id}`);
      expect(stored.status).toBe('busy');
      // One Patient of this booking's own, with the document, named by the Appointment.
      const patients = await patientsOfBooking(fhir, appt);
      expect(patients).toHaveLength(1);
      expect(patients[0].identifier).toContainEqual({ system: PATIENT_SYSTEM, value: ID });
      expect(patients[0].telecom[0].value).toBe('13812345678');
      expect(appt.participant.map((p: any) => p.actor.reference)).toContainEqual(`Patient/${patients[0].id}`);

      // The schedule shows the place gone.
      await page.goto(cardioDoctor('role-a-cardio-1', dayPlus(4)));
      await expect(page.locator(`.slot[data-slot="${slot.id}"] a`)).toHaveCount(0);
    });

    // A lost answer is retried with the same key, which finds what the first try made.
    for (const [lost, day] of [['Appointment', 5], ['Patient', 11]] as const) {
      test(`a booking whose ${lost} answer was lost is retried without a second appointment or patient`, async ({ page }) => {
        const slot = await freeFhirSlot(fhir, 'a-cardio-2', day, nth());
        const dropped = await loseFirstCreateAnswer(page, `${fhir.base}/${lost}`);
        await page.goto(`/hospitals/hosp-a/departments/hs.hs-a-cardio/doctors/role-a-cardio-2/book/${slot.id}?lang=en`);
        await fillPatient(page);
        await page.getByRole('button', { name: 'Confirm booking' }).click();
        await expect(page).toHaveURL(/\/bookings\/[A-Z0-9-]+$/, { timeout: 20_000 });
        expect(dropped()).toBe(1);
        const appointments = await appointmentsOf(fhir, slot.id);
        expect(appointments).toHaveLength(1);
        await expect(page.locator('.ticket-code')).toHaveText(
          appointments[0].identifier.find((i: any) => i.system.endsWith('/booking-code')).value,
        );
        const patients = await patientsOfBooking(fhir, appointments[0]);
        expect(patients).toHaveLength(1);
        expect(appointments[0].participant.map((p: any) => p.actor.reference)).toContainEqual(`Patient/${patients[0].id}`);
      });
    }

    test('a document number already on the server tells the browser nothing about its Patient', async ({ page }) => {
      const slot = await freeFhirSlot(fhir, 'a-gastro-1', 11, nth());
      // Another hospital system registered this person on the FHIR server.
      const stranger = { ...freshPerson(), name: 'Qian Duoduo' };
      const registered = await fetch(`${fhir.base}/Patient`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
        body: JSON.stringify({
          resourceType: 'Patient',
          identifier: [{ system: PATIENT_SYSTEM, value: stranger.id }],
          name: [{ text: stranger.name }],
          telecom: [{ system: 'phone', value: stranger.phone, use: 'mobile' }],
        }),
      });
      expect(registered.status).toBe(201);
      const strangerId = (await registered.json()).id;

      // Someone types that document number, with their own name and phone.
      const answers = recordFhirAnswers(page, fhir.base);
      await page.goto(`/hospitals/hosp-a/departments/hs.hs-a-gastro/doctors/role-a-gastro-1/book/${slot.id}?lang=en`);
      await fillPatient(page, stranger.id, freshMobile(), 'Li Lei');
      await page.getByRole('button', { name: 'Confirm booking' }).click();
      await expect(page).toHaveURL(/\/bookings\/[A-Z0-9-]+$/);
      await expect(page.locator('.ticket')).not.toContainText('Qian');

      const bodies = await answers.all();
      expect(bodies.some((b) => /^POST .*\/Patient$/.test(b.url))).toBeTruthy();
      for (const { url, body } of bodies) {
        expect(body, url).not.toContain(stranger.name);
        expect(body, url).not.toContain(stranger.phone);
        expect(body, url).not.toContain(strangerId);
        expect(body, url).not.toContain(stranger.id);
        expect(body, url).not.toMatch(/"resourceType"\s*:\s*"Patient"/);
        if (body.trim().startsWith('{')) expect(holdsPatient(JSON.parse(body)), url).toBe(false);
      }

      // The booking has a Patient of its own; the stranger's is untouched and named by nothing.
      const [appt] = await appointmentsOf(fhir, slot.id);
      const patients = await patientsOfBooking(fhir, appt);
      expect(patients).toHaveLength(1);
      expect(patients[0].id).not.toBe(strangerId);
      expect(patients[0].name[0].text).toBe('Li Lei');
      expect(patients[0].identifier).toContainEqual({ system: PATIENT_SYSTEM, value: stranger.id });
      expect(appt.participant.map((p: any) => p.actor.reference)).not.toContainEqual(`Patient/${strangerId}`);
      const kept = await fhirRequest(fhir, `Patient/${strangerId}`);
      expect(kept.name[0].text).toBe(stranger.name);
      expect(kept.telecom[0].value).toBe(stranger.phone);
    });

    test('a slot taken by someone else meanwhile is refused with other times to choose', async ({ page }) => {
      const slot = await freeFhirSlot(fhir, 'a-cardio-3', 6, nth());
      await page.goto(cardioDoctor('role-a-cardio-3', dayPlus(6)));
      await page.locator(`.slot[data-slot="${slot.id}"] a`).click();
      await fillPatient(page);
      // Another system books it on the FHIR server while the patient reviews.
      const current = await fhirRequest(fhir, `Slot/${slot.id}`);
      const put = await fetch(`${fhir.base}/Slot/${slot.id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ ...current, status: 'busy' }),
      });
      expect(put.ok).toBeTruthy();
      await page.getByRole('button', { name: 'Confirm booking' }).click();
      await expect(page.getByText('This slot has just been taken')).toBeVisible();
      await expect(page.locator('.alternatives a, .alternative a').first()).toBeVisible();
      expect(await appointmentsOf(fhir, slot.id)).toHaveLength(0);
      await expectAccessible(page);
    });

    test('an appointment the server refuses as a conflict is a taken slot, and the claim is given back', async ({ page }) => {
      const slot = await freeFhirSlot(fhir, 'a-gastro-2', 8, nth());
      await page.route(`${fhir.base}/Appointment`, (route) =>
        route.request().method() === 'POST'
          ? route.fulfill({
              status: 422,
              contentType: 'application/fhir+json',
              json: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'business-rule', diagnostics: 'Slot is not free' }] },
            })
          : route.continue(),
      );
      await page.goto(`/hospitals/hosp-a/departments/hs.hs-a-gastro/doctors/role-a-gastro-2/book/${slot.id}?lang=en`);
      await fillPatient(page);
      await page.getByRole('button', { name: 'Confirm booking' }).click();
      await expect(page.getByText('This slot has just been taken')).toBeVisible();
      expect(await appointmentsOf(fhir, slot.id)).toHaveLength(0);
      const stored = await fhirRequest(fhir, `Slot/${slot.id}`);
      expect(stored.status).toBe('free');
      expect(JSON.stringify(stored)).not.toContain('booking-claim');
    });

    test('a server that ignores the identifier it was searched by never passes off a stranger\'s booking', async ({ page }) => {
      const slot = await freeFhirSlot(fhir, 'a-ortho-2', 9, nth());
      const stranger = {
        resourceType: 'Appointment',
        id: 'someone-else',
        status: 'booked',
        identifier: [
          { system: 'https://fairslot.example/fhir/sid/booking-key', value: 'not-this-key' },
          { system: 'https://fairslot.example/fhir/sid/booking-code', value: 'ZZZZ-ZZZZ' },
        ],
        slot: [{ reference: 'Slot/elsewhere' }],
        participant: [],
      };
      await page.route(`${fhir.base}/Appointment/_search`, (route) =>
        route.fulfill({
          contentType: 'application/fhir+json',
          json: { resourceType: 'Bundle', type: 'searchset', total: 1, entry: [{ resource: stranger }] },
        }),
      );
      await page.goto(`/hospitals/hosp-a/departments/hs.hs-a-ortho/doctors/role-a-ortho-2/book/${slot.id}?lang=en`);
      await fillPatient(page);
      await page.getByRole('button', { name: 'Confirm booking' }).click();
      await expect(page).toHaveURL(/\/bookings\/[A-Z0-9-]+$/);
      await expect(page.locator('.ticket-code')).not.toHaveText('ZZZZ-ZZZZ');
      const appointments = await appointmentsOf(fhir, slot.id);
      expect(appointments).toHaveLength(1);
      await expect(page.locator('.ticket-code')).toHaveText(
        appointments[0].identifier.find((i: any) => i.system.endsWith('/booking-code')).value,
      );
    });

    test('two patients confirming one slot at once: one booking, one refusal, one appointment', async ({ browser }) => {
      const slot = await freeFhirSlot(fhir, 'a-ortho-1', 8, nth());
      // The worst interleaving, made certain: both read the free slot before either writes it.
      let secondRead!: () => void;
      let firstWritten!: () => void;
      const readBySecond = new Promise<void>((ok) => (secondRead = ok));
      const writtenByFirst = new Promise<void>((ok) => (firstWritten = ok));
      const pages = await Promise.all(
        [ID, ID_2].map(async (id, i) => {
          const context = await browser.newContext({ baseURL: test.info().project.use.baseURL, serviceWorkers: 'block' });
          const page = await context.newPage();
          await page.route('**/config.json', (route) =>
            route.fulfill({ json: { api: { kind: 'fhir', base_urls: [fhir.base] }, channel: CHANNEL, locale: 'en', mode: { kind: 'phone' } } }),
          );
          await page.route(`${fhir.base}/Slot/${slot.id}`, async (route) => {
            const method = route.request().method();
            if (i === 1 && method === 'GET') secondRead();
            if (i === 1 && method === 'PUT') await writtenByFirst;
            if (i === 0 && method === 'PUT') {
              await readBySecond;
              const response = await route.fetch();
              await route.fulfill({ response });
              firstWritten();
              return;
            }
            await route.continue();
          });
          await page.goto(`/hospitals/hosp-a/departments/hs.hs-a-ortho/doctors/role-a-ortho-1/book/${slot.id}?lang=en`);
          await fillPatient(page, id);
          return page;
        }),
      );
      await Promise.all(pages.map((p) => p.getByRole('button', { name: 'Confirm booking' }).click()));
      await expect(pages[0].locator('.ticket-code')).toBeVisible({ timeout: 15_000 });
      await expect(pages[1].getByText('This slot has just been taken')).toBeVisible({ timeout: 15_000 });
      const appointments = await appointmentsOf(fhir, slot.id);
      expect(appointments).toHaveLength(1);
      expect(appointments[0].identifier.find((i: any) => i.system.endsWith('/booking-code')).value).toBe(
        await pages[0].locator('.ticket-code').textContent(),
      );
      await Promise.all(pages.map((p) => p.context().close()));
    });

    test('schedules seen before stay readable while the FHIR server is down, marked as possibly changed', async ({ page }) => {
      await page.goto(cardioDoctor('role-a-cardio-1', dayPlus(9)));
      const slots = page.locator('.slot');
      await expect(slots.first()).toBeVisible();
      const shown = await slots.count();
      await ageReads(page, 2);

      // The hospital's FHIR server goes dark; the app itself is still served.
      await page.route(`${fhir.base}/**`, (route) => route.abort('connectionrefused'));
      await page.reload();
      await expect(slots).toHaveCount(shown);
      const notice = page.getByRole('status').filter({ hasText: 'places left may have changed' });
      await expect(notice).toBeVisible();
      await expect(page.locator('html')).toHaveAttribute('data-stale', 'true');
      await expectAccessible(page);

      // Back: the page refreshes itself and the warning goes.
      await page.unroute(`${fhir.base}/**`);
      await page.evaluate(() => window.dispatchEvent(new Event('online')));
      await expect(notice).toHaveCount(0, { timeout: 15_000 });
      await expect(slots).toHaveCount(shown);
    });

    test('a server that says it cannot guard a slot is not booked through', async ({ page }) => {
      const slot = await freeFhirSlot(fhir, 'a-cardio-1', 10, nth());
      // A read-only scheduling endpoint: slots can be searched but not updated.
      await page.route(`${fhir.base}/metadata`, (route) =>
        route.fulfill({
          contentType: 'application/fhir+json',
          json: {
            resourceType: 'CapabilityStatement',
            status: 'active',
            kind: 'instance',
            fhirVersion: '4.0.1',
            format: ['json'],
            rest: [{ mode: 'server', resource: ['Slot', 'Patient', 'Appointment'].map((type) => ({ type, interaction: [{ code: 'read' }, { code: 'search-type' }] })) }],
          },
        }),
      );
      await page.goto(`/hospitals/hosp-a/departments/hs.hs-a-cardio/doctors/role-a-cardio-1/book/${slot.id}?lang=en`);
      await expect(page.getByRole('alert')).toContainText('does not take bookings online');
      await expect(page.getByLabel('Full name')).toHaveCount(0);
      await expectAccessible(page);
      await page.getByRole('link', { name: 'Back to the schedule' }).click();
      await expect(page).toHaveURL(/\/doctors\/role-a-cardio-1\?day=/);
      expect((await fhirRequest(fhir, `Slot/${slot.id}`)).status).toBe('free');
    });

    test('an unreadable answer from the FHIR server is explained and can be retried', async ({ page }) => {
      let broken = true;
      await page.route(`${fhir.base}/Organization?**`, (route) =>
        broken
          ? route.fulfill({ status: 200, contentType: 'application/fhir+json', body: '{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Organization","id":"x","name":{"evil":true}}}]}' })
          : route.continue(),
      );
      await page.goto('/?lang=en');
      await expect(page.getByRole('alert')).toContainText('sent data we could not read');
      await expectAccessible(page);
      broken = false;
      await page.getByRole('button', { name: 'Try again' }).click();
      await expect(page.locator('.hospital-card')).toHaveCount(2);
    });

    test('the browser never receives a Patient: booking and lookup by code show no patient from the server, and cancelling is by phone', async ({ page }) => {
      const slot = await freeFhirSlot(fhir, 'a-gastro-1', 7, nth());
      // A patient of its own: the server has no Patient with this document yet.
      const person = freshPerson();
      const answers = recordFhirAnswers(page, fhir.base);
      await page.goto(`/hospitals/hosp-a/departments/hs.hs-a-gastro/doctors/role-a-gastro-1?day=${dayPlus(7)}&lang=en`);
      await page.locator(`.slot[data-slot="${slot.id}"] a`).click();
      await fillPatient(page, person.id, person.phone);
      await page.getByRole('button', { name: 'Confirm booking' }).click();
      await expect(page).toHaveURL(/\/bookings\/[A-Z0-9-]+$/);
      const code = decodeURIComponent(page.url().split('/').pop()!);
      // The ticket masks the patient the app itself sent.
      await expect(page.locator('.ticket .masked')).toContainText(person.masked);
      await expect(page.locator('.ticket .masked')).toContainText(`${person.phone.slice(0, 3)}****`);

      // On this device: no cancel button, the hospital to call instead.
      await page.goto('/bookings?lang=en');
      const own = page.locator(`.cards:not(.lookup-result) .booking-item[data-code="${code}"]`);
      await expect(own).toBeVisible();
      await expect(own.getByRole('button', { name: 'Cancel booking' })).toHaveCount(0);
      await expect(own).toContainText("cannot be cancelled online. To cancel it, please call Qingcheng First People's Hospital on +86-28-0000-0001.");

      // From another device: the code alone (typed in lower case) finds it; no proof is asked
      // for, since nothing could check it.
      await page.evaluate(() => localStorage.clear());
      await page.goto('/bookings?lang=en');
      await expect(page.locator('#lookup-last4')).toHaveCount(0);
      await page.getByLabel('Booking code').fill('ZZZZ-ZZZZ');
      await page.getByRole('button', { name: 'Find' }).click();
      await expect(page.getByText('No booking found; check the booking code.')).toBeVisible();
      await page.getByLabel('Booking code').fill(code.toLowerCase());
      await page.getByRole('button', { name: 'Find' }).click();
      const item = page.locator(`.lookup-result .booking-item[data-code="${code}"]`);
      await expect(item).toBeVisible();
      await expect(item).toContainText('Fang Liu');
      await expect(item.getByRole('button', { name: 'Cancel booking' })).toHaveCount(0);
      await expect(item.locator('.call-to-cancel')).toContainText('please call Qingcheng First People');
      await expect(page.locator('main')).not.toContainText(person.masked);
      await expectAccessible(page);

      // Still booked: nothing was cancelled.
      const [appt] = await appointmentsOf(fhir, slot.id);
      expect(appt.status).toBe('booked');
      expect((await fhirRequest(fhir, `Slot/${slot.id}`)).status).toBe('busy');

      // Nothing the page received from the FHIR server was a Patient, or named the patient.
      const bodies = await answers.all();
      expect(bodies.some((b) => b.url.includes('/Appointment/_search'))).toBeTruthy();
      expect(bodies.some((b) => /^POST .*\/Patient$/.test(b.url))).toBeTruthy();
      for (const { url, body } of bodies) {
        expect(body, url).not.toMatch(/"resourceType"\s*:\s*"Patient"/);
        expect(body, url).not.toContain(person.id);
        expect(body, url).not.toContain(person.phone);
        if (body.trim().startsWith('{')) expect(holdsPatient(JSON.parse(body)), url).toBe(false);
      }
    });
  });
}
