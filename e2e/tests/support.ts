import AxeBuilder from '@axe-core/playwright';
import { test as base, expect, type APIRequestContext, type BrowserContext, type Page } from '@playwright/test';
import { SERVER_ARGS } from '../harness';

/**
 * Lines that say the page's Content-Security-Policy refused something: the browser's own console
 * message ("Refused to …") and every `securitypolicyviolation` event, which the init script below
 * reports on the console.
 */
const CSP_MARK = 'fairslot-csp-violation:';

/**
 * Makes every Content-Security-Policy violation in `context` (any page, any frame) count: the
 * returned list fills as they happen. The `test` exported here checks it after every test; call
 * this for a context a test makes itself with `browser.newContext()`, and check the list.
 */
export async function watchCsp(context: BrowserContext): Promise<string[]> {
  const violations: string[] = [];
  await context.addInitScript((mark) => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`${mark} ${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} in ${e.sourceFile || e.documentURI}`);
    });
  }, CSP_MARK);
  context.on('console', (m) => {
    const text = m.text();
    if (text.startsWith(CSP_MARK) || text.includes('Refused to')) violations.push(text);
  });
  return violations;
}

/**
 * Playwright's `test`, with one thing added to every test that uses it: a violation of the page's
 * Content-Security-Policy fails the test. Specs import `test` and `expect` from here.
 */
export const test = base.extend<{ cspViolations: string[] }>({
  cspViolations: [
    async ({ context }, use) => {
      const violations = await watchCsp(context);
      await use(violations);
      expect(violations, 'Content-Security-Policy violations').toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };

/** Runs axe-core on the page as it is now and fails on any WCAG 2.1 A/AA violation. */
export async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  const summary = results.violations.map(
    (v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`,
  );
  expect(summary, 'axe-core violations').toEqual([]);
}

/** Someone to book for: a resident ID and a mobile number no other test uses. */
export type Person = {
  /** An 18-character resident ID with a valid GB 11643 check character. */
  id: string;
  /** A mainland mobile number, 11 digits. */
  phone: string;
  /** The proof of ownership lookup and cancel ask for. */
  last4: string;
  /** The ID as every screen, ticket and receipt shows it: its start only. */
  masked: string;
};

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/** The GB 11643 check character of the first 17 digits of a resident ID. */
export function checkCharacter(first17: string): string {
  const sum = [...first17].reduce((acc, d, i) => acc + Number(d) * WEIGHTS[i], 0);
  return '10X98765432'[sum % 11];
}

const digits = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join('');

/**
 * A resident ID no other test has used: the real-name rules (one booking per person per doctor and
 * department per day, a few active ones per person) would otherwise make tests refuse each other.
 * Dongcheng district (110105, so it masks as `1101…`), a birth date between 1950 and 2005.
 */
export function freshResidentId(): string {
  for (;;) {
    const born = new Date(Date.UTC(1950, 0, 1) + Math.random() * 56 * 365 * 86_400_000);
    const ymd = born.toISOString().slice(0, 10).replace(/-/g, '');
    const first17 = `110105${ymd}${digits(3)}`;
    // Ending in X, so its last four characters are found in no date, time or id by chance.
    if (checkCharacter(first17) === 'X') return `${first17}X`;
  }
}

/** A passport number no other test has used. */
export function freshPassport(): string {
  return `E${digits(8)}`;
}

/** `138****5678`: a mobile number as the review and the ticket show it. */
export function maskedMobile(phone: string): string {
  return `${phone.slice(0, 3)}****${phone.slice(7)}`;
}

/** A mainland mobile number (13–19, then 9 digits) no other test has used: per-phone rules apply too. */
export function freshMobile(): string {
  return `1${3 + Math.floor(Math.random() * 7)}${digits(9)}`;
}

export function freshPerson(): Person {
  const id = freshResidentId();
  return { id, phone: freshMobile(), last4: id.slice(-4), masked: `${id.slice(0, 4)}${'*'.repeat(14)}` };
}

/** A random `X-Fairslot-Client` token, as the app makes one per tab. */
export function clientToken(): string {
  return Array.from({ length: 32 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');
}

/** Books `slotId` for `person` straight through the API, as another channel would; resolves to the booking. */
export async function bookThroughApi<T = { code: string }>(
  request: APIRequestContext,
  slotId: string,
  person: Person,
  base = '',
  name = '王芳',
): Promise<T> {
  const res = await request.post(`${base}/api/v1/bookings`, {
    headers: { 'Idempotency-Key': `e2e-${clientToken()}`, 'X-Fairslot-Channel': 'phone-line', 'X-Fairslot-Client': clientToken() },
    data: {
      slot_id: slotId,
      patient: { name, document_kind: 'resident_id', document_number: person.id, phone: person.phone, relationship: 'self', consent: true },
    },
  });
  expect(res.status(), `POST /bookings -> ${res.status()} ${await res.text()}`).toBe(201);
  return (await res.json()) as T;
}

type Text = { zh: string; en: string };
export type Hospital = { id: string; name: Text; level: string; district: { id: string; name: Text } };
export type Doctor = { id: string; department_id: string; hospital_id: string; name: Text };
export type Slot = { id: string; start: string; end: string; capacity: number; remaining: number };
export type Session = {
  id: string;
  doctor_id: string;
  department_id: string;
  date: string;
  period: 'am' | 'pm' | 'evening';
  status: 'open' | 'full' | 'stopped' | 'not_released';
  release_at?: string;
  slots: Slot[];
};
export type Schedule = { from: string; days: number; utc_offset_minutes: number; doctors: Doctor[]; sessions: Session[] };

/**
 * Reads the API directly, to find data the browser should then show. `at` is the origin of a
 * server the test started itself; by default, the shared one.
 */
export async function api<T>(request: APIRequestContext, path: string, at = ''): Promise<T> {
  const res = await request.get(`${at}/api/v1${path}`);
  expect(res.ok(), `GET ${path} -> ${res.status()}`).toBeTruthy();
  return (await res.json()) as T;
}

/**
 * Looks a booking up through the API. The proof of ownership goes in the body: URLs end up in
 * proxy and CDN logs.
 */
export async function lookupBooking<T>(request: APIRequestContext, code: string, last4: string, at = ''): Promise<T> {
  const res = await request.post(`${at}/api/v1/bookings/${encodeURIComponent(code)}/lookup`, { data: { document_last4: last4 } });
  expect(res.ok(), `POST /bookings/${code}/lookup -> ${res.status()}`).toBeTruthy();
  return (await res.json()) as T;
}

export async function hospitals(request: APIRequestContext): Promise<Hospital[]> {
  return (await api<{ items: Hospital[] }>(request, '/hospitals')).items;
}

/** Today's date in the hospital (UTC+08:00 in the demo data), as YYYY-MM-DD. */
export function hospitalToday(offsetMinutes = 480): string {
  return new Date(Date.now() + offsetMinutes * 60_000).toISOString().slice(0, 10);
}

/** A doctor session with the given status in the next 14 days, with its hospital and department. */
export async function findSession(
  request: APIRequestContext,
  wanted: (s: Session) => boolean,
): Promise<{ hospital: Hospital; session: Session; schedule: Schedule }> {
  for (const hospital of await hospitals(request)) {
    const tree = await api<{ groups: { departments: { id: string }[] }[] }>(
      request,
      `/hospitals/${hospital.id}/departments`,
    );
    for (const dep of tree.groups.flatMap((g) => g.departments)) {
      const schedule = await api<Schedule>(
        request,
        `/schedules?department=${dep.id}&from=${hospitalToday()}&days=14`,
      );
      const session = schedule.sessions.find(wanted);
      if (session) return { hospital, session, schedule };
    }
  }
  throw new Error('demo data has no such session');
}

/** Fills the booking form for `who` and ticks the consent, in the page's language. */
export async function fillPatient(page: Page, who: { id: string; phone: string }, en = true) {
  await page.getByLabel(en ? 'Full name' : '姓名').fill(en ? 'Li Lei' : '李雷');
  await page.getByLabel(en ? 'Document number' : '证件号码').fill(who.id);
  const phone = who.phone;
  await page.getByLabel(en ? 'Mobile number' : '手机号码').fill(`${phone.slice(0, 3)} ${phone.slice(3, 7)} ${phone.slice(7)}`);
  await page.getByLabel(en ? /I have read/ : /我已阅读/).check();
}

/** A slot a patient can book, with its session. */
export type Open = { session: Session; slot: Slot };

/**
 * The slots with at least `min` places in the open sessions of a schedule (`of`: `doctor=…` or
 * `department=…`) over the next 14 days, from tomorrow on (so their cancel deadline is ahead), in
 * the order the schedule lists them.
 */
export async function bookableSlots(request: APIRequestContext, of: string, min = 1, at = ''): Promise<Open[]> {
  const schedule = await api<Schedule>(request, `/schedules?${of}&days=14`, at);
  return schedule.sessions
    .filter((session) => session.status === 'open')
    .flatMap((session) => session.slots.map((slot) => ({ session, slot })))
    .filter(({ slot }) => slot.remaining >= min && Date.parse(slot.start) > Date.now() + 26 * 3_600_000);
}

/**
 * The `nth` bookable slot of a doctor (see [bookableSlots]). Tests running side by side against one
 * server each take their own `nth`, so none books a place another counts on.
 */
export async function freeSlot(request: APIRequestContext, doctor: string, nth = 0, min = 1, at = ''): Promise<Open> {
  const found = await bookableSlots(request, `doctor=${doctor}`, min, at);
  expect(found.length, `bookable slot ${nth} of ${doctor}`).toBeGreaterThan(nth);
  return found[nth];
}

/** The places left in a slot of a doctor, as the server counts them now. */
export async function remaining(request: APIRequestContext, doctor: string, slotId: string, at = ''): Promise<number> {
  const schedule = await api<Schedule>(request, `/schedules?doctor=${doctor}&days=14`, at);
  for (const s of schedule.sessions) for (const x of s.slots) if (x.id === slotId) return x.remaining;
  throw new Error(`no slot ${slotId}`);
}

/** `08:30` of an RFC 3339 time, read in its own offset (the hospital's, in the demo data). */
export function hhmm(rfc3339: string): string {
  return rfc3339.slice(11, 16);
}

/** A reference server of a test file's own, for settings or faults the shared one must not see. */
export type OwnServer = { base: string; dataDir: string; stop: () => void };

/**
 * Starts the reference server on a free loopback port with a fresh database and the built app,
 * with what every server of the browser tests is told (`e2e/harness.ts`) plus `args`; resolves
 * once it prints the address it listens on.
 */
export async function startServer(args: string[]): Promise<OwnServer> {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join, resolve } = await import('node:path');
  const root = resolve(__dirname, '..', '..');
  const dataDir = mkdtempSync(join(tmpdir(), 'fairslot-own-'));
  const bin = process.env.FAIRSLOT_SERVER_BIN ?? join(root, 'target', 'debug', 'fairslot-server');
  const server = spawn(bin, ['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--static-dir', join(root, 'dist'), '--quiet', ...SERVER_ARGS, ...args]);
  const base = await new Promise<string>((ok, fail) => {
    server.stdout!.on('data', (chunk: Buffer) => {
      const m = /listening on (http:\/\/\S+)/.exec(chunk.toString());
      if (m) ok(m[1]);
    });
    server.on('exit', (code) => fail(new Error(`server exited ${code}`)));
  });
  return {
    base,
    dataDir,
    stop: () => {
      server.kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A local FHIR R4 server (Medplum's router and in-memory repository, `e2e/fhir/server.mjs`). */
export type FhirServer = { base: string; stop: () => void };

/** Starts a seeded FHIR server on a free loopback port; `pure` switches its gap fills off. */
export async function startFhirServer(pure: boolean): Promise<FhirServer> {
  const { spawn } = await import('node:child_process');
  const { resolve } = await import('node:path');
  const script = resolve(__dirname, '..', 'fhir', 'server.mjs');
  const args = [script, '--port', '0', '--seed', '--quiet', ...(pure ? ['--pure'] : [])];
  const server = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const base = await new Promise<string>((ok, fail) => {
    server.stdout!.on('data', (chunk: Buffer) => {
      const m = /^FHIR server listening on (http:\/\/127\.0\.0\.1:\d+\/fhir\/R4)$/m.exec(chunk.toString());
      if (m) ok(m[1]);
    });
    server.on('exit', (code) => fail(new Error(`FHIR server exited ${code}`)));
  });
  return { base, stop: () => server.kill('SIGTERM') };
}

/** Identifier systems Fairslot writes on a FHIR server (core `fhir`). */
export const FHIR_SYSTEMS = {
  residentId: 'https://fairslot.example/fhir/sid/cn-resident-id',
  bookingKey: 'https://fairslot.example/fhir/sid/booking-key',
  bookingCode: 'https://fairslot.example/fhir/sid/booking-code',
};

/** The hospital's date `n` days from today. */
export function dayPlus(n: number): string {
  const d = new Date(`${hospitalToday()}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** A request straight to the FHIR server, as another system would make it; it must succeed. */
export async function fhirRequest(fhir: FhirServer, path: string, init: RequestInit = {}): Promise<any> {
  const headers = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json', ...(init.headers ?? {}) };
  const res = await fetch(`${fhir.base}/${path}`, { ...init, headers });
  expect(res.ok, `${init.method ?? 'GET'} ${path} -> ${res.status}`).toBeTruthy();
  return res.status === 204 ? null : res.json();
}

/** A free slot of a seeded doctor on day `day` (offset from today), skipping `skip` free ones. */
export async function freeFhirSlot(fhir: FhirServer, key: string, day: number, skip = 0): Promise<{ id: string; start: string; end: string }> {
  const date = dayPlus(day);
  const bundle = await fhirRequest(
    fhir,
    `Slot?schedule=Schedule/sched-${key}&status=free&start=ge${date}T00:00:00%2B08:00&start=lt${date}T23:59:00%2B08:00&_count=100`,
  );
  const slots = (bundle.entry ?? []).map((e: any) => e.resource).sort((a: any, b: any) => a.start.localeCompare(b.start));
  expect(slots.length, `free slots of ${key} on ${date}`).toBeGreaterThan(skip);
  return slots[skip];
}

/** Makes every read the device keeps look `hours` old, as if the patient came back later. */
export async function ageReads(page: Page, hours: number) {
  await page.evaluate(
    (hours) =>
      new Promise<void>((ok, fail) => {
        const open = indexedDB.open('fairslot');
        open.onerror = () => fail(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction('reads', 'readwrite');
          const store = tx.objectStore('reads');
          const cursor = store.openCursor();
          cursor.onsuccess = () => {
            const c = cursor.result;
            if (!c) return;
            const text = c.value as string;
            const cut = text.indexOf('\n');
            const then = new Date(Date.parse(text.slice(0, cut)) - hours * 3_600_000).toISOString();
            c.update(then + text.slice(cut));
            c.continue();
          };
          tx.oncomplete = () => {
            db.close();
            ok();
          };
          tx.onerror = () => fail(tx.error);
        };
      }),
    hours,
  );
}
