import { randomUUID } from 'node:crypto';
import type { Page } from '@playwright/test';
import {
  dayPlus,
  expect,
  expectAccessible,
  FHIR_SYSTEMS,
  fhirRequest,
  freeFhirSlot,
  startFhirServer,
  startServer,
  test,
  type FhirServer,
  type OwnServer,
} from './support';

// A FHIR deployment with the reference server as its gateway (`--fhir-upstream`): the app's FHIR
// requests go to `/fhir` on the server, which passes them to a FHIR server nobody here wrote
// (Medplum's router, e2e/fhir/) and keeps every Patient resource to itself. Lookup and cancel
// by code check the proof on the server, counted and locked per code as the reference API does.

const PATIENT_SYSTEM = FHIR_SYSTEMS.residentId;
const CODE_SYSTEM = FHIR_SYSTEMS.bookingCode;
const KEY_SYSTEM = FHIR_SYSTEMS.bookingKey;
const LOOKUP = '/fhir/Appointment/$fairslot-lookup';
const CANCEL = '/fhir/Appointment/$fairslot-cancel';
const CHANNEL = 'partner-fhir';
const FHIR_JSON = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };

/** The code a booking key is known by, as the app derives it (core `fhir::booking_code`). */
function bookingCode(key: string): string {
  const alphabet = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  let code = '';
  for (let i = 0; i < 8; i++) {
    if (i === 4) code += '-';
    code += alphabet[Number(hash % BigInt(alphabet.length))];
    hash /= BigInt(alphabet.length);
  }
  return code;
}

/** An Appointment written straight to the FHIR server, as any FHIR client could. */
async function writeAppointment(
  fhir: FhirServer,
  a: { code: string; key: string; slot: { id: string; start: string; end: string }; patientId: string; role?: string },
) {
  const participant = [{ actor: { reference: `Patient/${a.patientId}` }, status: 'accepted' }];
  if (a.role) participant.push({ actor: { reference: `PractitionerRole/${a.role}` }, status: 'accepted' });
  await fhirRequest(fhir, 'Appointment', {
    method: 'POST',
    body: JSON.stringify({
      resourceType: 'Appointment',
      status: 'booked',
      identifier: [
        { system: CODE_SYSTEM, value: a.code },
        { system: KEY_SYSTEM, value: a.key },
      ],
      slot: [{ reference: `Slot/${a.slot.id}` }],
      start: a.slot.start,
      end: a.slot.end,
      created: new Date().toISOString(),
      participant,
    }),
  });
}

/** A booking as the app makes it, written straight to the FHIR server: a Patient and an
 * Appointment under one booking key, the Appointment with the code derived from it. */
async function bookedUpstream(
  fhir: FhirServer,
  slotKey: string,
  skip: number,
  id: string,
  start?: string,
): Promise<{ code: string; key: string; slotId: string; patientId: string }> {
  const slot = await freeFhirSlot(fhir, slotKey, 9, skip);
  const key = randomUUID();
  const patient = await fhirRequest(fhir, 'Patient', {
    method: 'POST',
    body: JSON.stringify({
      resourceType: 'Patient',
      identifier: [
        { system: PATIENT_SYSTEM, value: id },
        { system: KEY_SYSTEM, value: key },
      ],
      name: [{ text: '王建国' }],
      telecom: [{ system: 'phone', value: '13812345678' }],
    }),
  });
  const code = bookingCode(key);
  await writeAppointment(fhir, { code, key, slot: { ...slot, start: start ?? slot.start }, patientId: patient.id, role: `role-${slotKey}` });
  return { code, key, slotId: slot.id, patientId: patient.id };
}

function owned(gateway: OwnServer, operation: string, code: string, last4: string): Promise<Response> {
  return fetch(`${gateway.base}${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, document_last4: last4 }),
  });
}

/** Every JSON body the page receives, to show what never reaches the browser. */
function watchBodies(page: Page): string[] {
  const bodies: string[] = [];
  page.on('response', async (response) => {
    if (!/json/.test(response.headers()['content-type'] ?? '')) return;
    try {
      bodies.push(await response.text());
    } catch {
      // A response the page navigated away from has no body to read.
    }
  });
  return bodies;
}

test.describe('a FHIR server behind the reference server as its gateway', () => {
  let fhir: FhirServer;
  let gateway: OwnServer;
  const nth = () => (test.info().project.name === 'phone' ? 0 : 3);

  test.beforeAll(async () => {
    fhir = await startFhirServer(false);
    gateway = await startServer(['--fhir-upstream', fhir.base]);
  });
  test.afterAll(() => {
    gateway?.stop();
    fhir?.stop();
  });

  test('the app\'s reads pass; nothing that would show a patient does', async () => {
    const booked = await bookedUpstream(fhir, 'a-ortho-1', nth(), '11010519491231002X');
    const get = (path: string) => fetch(`${gateway.base}/fhir/${path}`, { headers: FHIR_JSON });

    const slots = await get(`Slot?schedule=Schedule/sched-a-ortho-1&status=free&_count=5`);
    expect(slots.status).toBe(200);
    const page = await slots.json();
    expect(page.entry.length).toBe(5);
    // Paging links lead back through the gateway.
    expect(page.link.find((l: any) => l.relation === 'next').url).toMatch(/^\/fhir\/Slot\?/);
    const appointments = await (await get(`Appointment?slot=Slot/${booked.slotId}`)).json();
    expect(appointments.entry).toHaveLength(1);
    // Seen by a stranger, a booking names neither its code, its key nor its patient.
    const seen = JSON.stringify(appointments);
    for (const secret of [booked.code, booked.key, booked.patientId]) expect(seen).not.toContain(secret);
    // Only the device that holds the key finds the booking in full, by that key.
    const own = await (await fetch(`${gateway.base}/fhir/Appointment/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `identifier=${encodeURIComponent(`${KEY_SYSTEM}|${booked.key}`)}`,
    })).json();
    expect(JSON.stringify(own)).toContain(booked.code);
    expect(JSON.stringify(own)).not.toContain(booked.patientId);

    const refused = [
      await get('Patient'),
      await get(`Patient/${booked.patientId}`),
      await get(`Patient?identifier=${encodeURIComponent(`${PATIENT_SYSTEM}|11010519491231002X`)}`),
      await get(`Patient/${booked.patientId}/_history`),
      await get(`Appointment?slot=Slot/${booked.slotId}&_include=Appointment:patient`),
      await get(`Appointment?slot=Slot/${booked.slotId}&_include=Appointment:actor:Patient`),
      await get(`Appointment?patient.identifier=${encodeURIComponent(`${PATIENT_SYSTEM}|11010519491231002X`)}`),
      await get(`Patient?_has:Appointment:patient:status=booked`),
      // Whatever else the FHIR server holds about people is not the app's to read.
      await get(`Observation?subject=Patient/${booked.patientId}`),
      await get(`Person`),
      await get(`PATIENT/${booked.patientId}`),
      await get(`Appointment/${booked.patientId}`),
      await fetch(`${gateway.base}/fhir/Patient/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `identifier=${encodeURIComponent(`${PATIENT_SYSTEM}|11010519491231002X`)}`,
      }),
      await fetch(`${gateway.base}/fhir/Appointment/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `identifier=${encodeURIComponent(`${CODE_SYSTEM}|${booked.code}`)}&_include=Appointment:patient`,
      }),
      // `_has` spelled in UTF-16: harmless to the gateway's reading, not to a server's.
      await fetch(`${gateway.base}/fhir/Appointment/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-16BE' },
        body: '%00_%00h%00a%00s%00:%00A%00p%00p%00o%00i%00n%00t%00m%00e%00n%00t=booked',
      }),
    ];
    for (const res of refused) {
      expect(res.status, res.url).toBe(403);
      expect(await res.text()).not.toContain('王建国');
    }

    // Cancelling around the proof, deleting, or a transaction: refused before the FHIR server.
    const [appt] = appointments.entry.map((e: any) => e.resource);
    const write = (method: string, path: string, body: unknown) =>
      fetch(`${gateway.base}/fhir/${path}`, { method, headers: FHIR_JSON, body: JSON.stringify(body) });
    expect((await write('PUT', `Appointment/${appt.id}`, { ...appt, status: 'cancelled' })).status).toBe(403);
    expect((await fetch(`${gateway.base}/fhir/Appointment/${appt.id}`, { method: 'DELETE' })).status).toBe(403);
    expect((await write('POST', '', { resourceType: 'Bundle', type: 'transaction', entry: [] })).status).toBe(403);
    expect((await fhirRequest(fhir, `Appointment/${appt.id}`)).status).toBe('booked');

    // A create asks the FHIR server about nothing but its own booking's key: a condition on a
    // document number would tell whether that person is known.
    const create = (condition: string, identifier: unknown[]) =>
      fetch(`${gateway.base}/fhir/Patient`, {
        method: 'POST',
        headers: { ...FHIR_JSON, 'if-none-exist': condition, prefer: 'return=representation' },
        body: JSON.stringify({ resourceType: 'Patient', identifier, name: [{ text: '李雷' }] }),
      });
    const document = { system: PATIENT_SYSTEM, value: '11010519491231002X' };
    expect((await create(`identifier=${PATIENT_SYSTEM}|11010519491231002X`, [document])).status).toBe(403);
    expect((await create(`_id=${booked.patientId}&name=${encodeURIComponent('王')}`, [document])).status).toBe(403);
    // The booking's own key: created once, told by its Location alone, the same the second time.
    const key = randomUUID();
    const mine = [document, { system: KEY_SYSTEM, value: key }];
    const locations = [];
    for (let i = 0; i < 2; i++) {
      const created = await create(`identifier=${encodeURIComponent(`${KEY_SYSTEM}|${key}`)}`, mine);
      expect(created.status).toBe(201);
      expect(await created.text()).toBe('');
      locations.push(created.headers.get('location'));
    }
    expect(locations[0]).toMatch(/^\/fhir\/Patient\/[A-Za-z0-9.-]+$/);
    expect(locations[1]).toBe(locations[0]);
    expect(locations[0]).not.toBe(`/fhir/Patient/${booked.patientId}`);

    // A slot changes only by a versioned claim: not without If-Match, not in its time.
    const slot = await fhirRequest(fhir, `Slot/${booked.slotId}`);
    const put = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${gateway.base}/fhir/Slot/${booked.slotId}`, { method: 'PUT', headers: { ...FHIR_JSON, ...headers }, body: JSON.stringify(body) });
    const version = { 'if-match': `W/"${slot.meta.versionId}"` };
    expect((await put({ ...slot, status: 'busy' })).status).toBe(403);
    expect((await put({ ...slot, start: '2030-01-01T08:00:00+08:00' }, version)).status).toBe(403);
    expect((await fhirRequest(fhir, `Slot/${booked.slotId}`)).meta.versionId).toBe(slot.meta.versionId);
  });

  test('an appointment written to point at someone else proves nothing about them', async () => {
    const victim = await bookedUpstream(fhir, 'b-neuro-1', nth(), '110105194912310021');
    // A forged booking with a code of its own, naming the victim's Patient: its guesses would
    // otherwise be compared with the victim's document, five more per forged code.
    const forgedKey = randomUUID();
    const forged = bookingCode(forgedKey);
    const slot = await fhirRequest(fhir, `Slot/${victim.slotId}`);
    await writeAppointment(fhir, { code: forged, key: forgedKey, slot, patientId: victim.patientId });
    expect((await owned(gateway, LOOKUP, forged, '0021')).status).toBe(404);
    // The victim's own code still works for the victim.
    expect((await owned(gateway, LOOKUP, victim.code, '0021')).status).toBe(200);
    // A second Appointment carrying the victim's code makes the code name nothing (the booking
    // stands; the patient can call the hospital), rather than letting it stand in.
    const intruder = await bookedUpstream(fhir, 'b-neuro-1', nth() + 1, '320106198808151237');
    const [theirs] = (await fhirRequest(fhir, `Appointment?slot=Slot/${intruder.slotId}`)).entry.map((e: any) => e.resource);
    await fhirRequest(fhir, `Appointment/${theirs.id}`, {
      method: 'PUT',
      body: JSON.stringify({
        ...theirs,
        identifier: [
          { system: CODE_SYSTEM, value: victim.code },
          { system: KEY_SYSTEM, value: intruder.key },
        ],
      }),
    });
    expect((await owned(gateway, CANCEL, victim.code, '1237')).status).toBe(404);
    const [still] = (await fhirRequest(fhir, `Appointment?slot=Slot/${victim.slotId}`)).entry
      .map((e: any) => e.resource)
      .filter((a: any) => a.identifier.some((i: any) => i.value === victim.key));
    expect(still.status).toBe('booked');
  });

  test('a proof is checked on the server and guessing locks the code', async () => {
    const booked = await bookedUpstream(fhir, 'a-ortho-2', nth(), '110105194912310021');
    const found = await owned(gateway, LOOKUP, booked.code.toLowerCase().replace('-', ''), '0021');
    expect(found.status).toBe(200);
    const answer = await found.json();
    expect(answer.appointment.resourceType).toBe('Appointment');
    expect(answer.patient.name).toBe('王**');
    expect(answer.patient.document_number).not.toContain('0021');
    expect(JSON.stringify(answer)).not.toContain('110105194912310021');
    expect(JSON.stringify(answer)).not.toMatch(/"resourceType":"Patient"/);

    // A script with the code guesses in parallel: exactly the five guesses the lock allows
    // get an answer; the rest, and then the right proof too, are refused as locked.
    const guesses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => owned(gateway, LOOKUP, booked.code, String(1000 + i))),
    );
    const statuses = guesses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 404)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    const locked = await owned(gateway, CANCEL, booked.code, '0021');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(800);
    expect((await locked.json()).type).toMatch(/proof-locked$/);
    expect((await fhirRequest(fhir, `Slot/${booked.slotId}`)).status).toBe('free');
    const [appt] = (await fhirRequest(fhir, `Appointment?slot=Slot/${booked.slotId}`)).entry.map((e: any) => e.resource);
    expect(appt.status).toBe('booked');

    // An unknown code is counted and locked alike, so no answer tells whether a code exists.
    const unknown = [];
    for (let i = 0; i < 6; i++) unknown.push((await owned(gateway, LOOKUP, 'ZZZZ-ZZZZ', '1234')).status);
    expect(unknown).toEqual([404, 404, 404, 404, 404, 429]);
  });

  test('the owner cancels with the proof; once cancelling has closed, it stays booked', async () => {
    const booked = await bookedUpstream(fhir, 'a-cardio-3', nth(), '110105194912310021');
    const cancelled = await owned(gateway, CANCEL, booked.code, '0021');
    expect(cancelled.status).toBe(200);
    expect((await cancelled.json()).appointment.status).toBe('cancelled');
    const [appt] = (await fhirRequest(fhir, `Appointment?slot=Slot/${booked.slotId}`)).entry.map((e: any) => e.resource);
    expect(appt.status).toBe('cancelled');
    // Again: the same answer, nothing changed.
    const again = await owned(gateway, CANCEL, booked.code, '0021');
    expect(again.status).toBe(200);
    expect((await fhirRequest(fhir, `Appointment/${appt.id}`)).meta.versionId).toBe(appt.meta.versionId);

    // An appointment an hour away: inside the two hours before a slot, cancelling is closed.
    const soon = new Date(Date.now() + 3600_000).toISOString();
    const late = await bookedUpstream(fhir, 'a-cardio-3', nth() + 1, '110105194912310021', soon);
    const refused = await owned(gateway, CANCEL, late.code, '0021');
    expect(refused.status).toBe(409);
    expect((await refused.json()).type).toMatch(/cancel-closed$/);
    const [kept] = (await fhirRequest(fhir, `Appointment?slot=Slot/${late.slotId}`)).entry.map((e: any) => e.resource);
    expect(kept.status).toBe('booked');
  });

  test('a FHIR server that does not answer is an outage, not a wrong proof', async () => {
    const closed = await startServer(['--fhir-upstream', 'http://127.0.0.1:9/fhir/R4']);
    try {
      const statuses = [];
      for (let i = 0; i < 7; i++) statuses.push((await owned(closed, LOOKUP, 'ABCD-EFGH', '1234')).status);
      // Never locked: nothing was checked, so nothing was counted.
      expect(statuses).toEqual(Array(7).fill(503));
      expect((await fetch(`${closed.base}/fhir/Slot`)).status).toBe(503);
    } finally {
      closed.stop();
    }
  });

  test('a patient books, finds and cancels through the gateway, and no patient data reaches the browser', async ({ page }) => {
    const bodies = watchBodies(page);
    await page.route('**/config.json', (route) =>
      route.fulfill({
        json: { api: { kind: 'fhir', base_urls: ['/fhir'], gateway: true }, channel: CHANNEL, locale: 'en', mode: { kind: 'phone' } },
      }),
    );
    const id = '11010519491231002X';
    const slot = await freeFhirSlot(fhir, 'a-gastro-2', 8, nth());
    await page.goto(`${gateway.base}/hospitals/hosp-a/departments/hs.hs-a-gastro/doctors/role-a-gastro-2?day=${dayPlus(8)}&lang=en`);
    await page.locator(`.slot[data-slot="${slot.id}"] a`).click();
    await page.getByLabel('Full name').fill('Li Lei');
    await page.getByLabel('Document number').fill(id);
    await page.getByLabel('Mobile number').fill('138 1234 5678');
    await page.getByLabel(/I have read/).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Confirm booking' }).click();
    await expect(page).toHaveURL(/\/bookings\/[A-Z0-9-]+$/);
    const code = decodeURIComponent(page.url().split('/').pop()!);
    // The ticket shows the patient from what the device sent, masked.
    await expect(page.locator('.ticket')).toContainText('1101**************');
    const [appt] = (await fhirRequest(fhir, `Appointment?slot=Slot/${slot.id}`)).entry.map((e: any) => e.resource);
    expect(appt.status).toBe('booked');

    // From another device: a wrong proof finds nothing, the right one finds the booking.
    await page.evaluate(() => localStorage.clear());
    await page.goto(`${gateway.base}/bookings?lang=en`);
    await page.getByLabel('Booking code').fill(code);
    await page.locator('#lookup-last4').fill('9999');
    await page.getByRole('button', { name: 'Find' }).click();
    await expect(page.getByText('No booking found')).toBeVisible();
    await page.locator('#lookup-last4').fill('002x');
    await page.getByRole('button', { name: 'Find' }).click();
    const item = page.locator(`.booking-item[data-code="${code}"]`);
    await expect(item).toBeVisible();
    await expectAccessible(page);
    await item.getByRole('button', { name: 'Cancel booking' }).click();
    await item.getByLabel('Last 4 characters of the ID document').fill('002X');
    await item.getByRole('button', { name: 'Yes, cancel' }).click();
    await expect(item.locator('.badge')).toHaveText('Cancelled');
    expect((await fhirRequest(fhir, `Appointment/${appt.id}`)).status).toBe('cancelled');
    expect((await fhirRequest(fhir, `Slot/${slot.id}`)).status).toBe('free');

    expect(bodies.length).toBeGreaterThan(5);
    for (const body of bodies) {
      expect(body).not.toMatch(/"resourceType"\s*:\s*"Patient"/);
      expect(body).not.toContain(id);
      expect(body).not.toContain('13812345678');
    }
  });
});
