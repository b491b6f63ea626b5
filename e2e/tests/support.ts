import AxeBuilder from '@axe-core/playwright';
import { expect, type APIRequestContext, type Page } from '@playwright/test';

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

/** Reads the API directly, to find data the browser should then show. */
export async function api<T>(request: APIRequestContext, path: string): Promise<T> {
  const res = await request.get(`/api/v1${path}`);
  expect(res.ok(), `GET ${path} -> ${res.status()}`).toBeTruthy();
  return (await res.json()) as T;
}

/**
 * Looks a booking up through the API. The proof of ownership goes in the body: URLs end up in
 * proxy and CDN logs.
 */
export async function lookupBooking<T>(request: APIRequestContext, code: string, last4: string): Promise<T> {
  const res = await request.post(`/api/v1/bookings/${encodeURIComponent(code)}/lookup`, { data: { document_last4: last4 } });
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

/** `08:30` of an RFC 3339 time, read in its own offset (the hospital's, in the demo data). */
export function hhmm(rfc3339: string): string {
  return rfc3339.slice(11, 16);
}

/** A reference server of a test file's own, for settings or faults the shared one must not see. */
export type OwnServer = { base: string; stop: () => void };

/**
 * Starts the reference server on a free loopback port with a fresh database and the built app,
 * plus `args`; resolves once it prints the address it listens on.
 */
export async function startServer(args: string[]): Promise<OwnServer> {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join, resolve } = await import('node:path');
  const root = resolve(__dirname, '..', '..');
  const dataDir = mkdtempSync(join(tmpdir(), 'fairslot-own-'));
  const bin = process.env.FAIRSLOT_SERVER_BIN ?? join(root, 'target', 'debug', 'fairslot-server');
  const server = spawn(bin, ['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--static-dir', join(root, 'dist'), '--quiet', ...args]);
  const base = await new Promise<string>((ok, fail) => {
    server.stdout!.on('data', (chunk: Buffer) => {
      const m = /listening on (http:\/\/\S+)/.exec(chunk.toString());
      if (m) ok(m[1]);
    });
    server.on('exit', (code) => fail(new Error(`server exited ${code}`)));
  });
  return {
    base,
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
