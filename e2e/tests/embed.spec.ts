import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Frame, FrameLocator, Page } from '@playwright/test';
import { api, bookableSlots, expect, expectAccessible, freeSlot, freshPerson, lookupBooking, test, type Person, type Schedule, type Session, type Slot } from './support';

// The app inside a partner's page on another loopback origin, put there by public/embed.js. Two
// small HTTP servers of the test stand for the partner's site and a site the config does not
// allow; the app and its API come from the real server.

// Each test books for someone of its own: the server's real-name rules count per person and phone.
let person: Person;
test.beforeEach(() => {
  person = freshPerson();
});

/** A loopback web server whose pages the test sets. */
type Site = { origin: string; pages: Map<string, string>; close: () => void };

async function startSite(): Promise<Site> {
  const { createServer } = await import('node:http');
  const pages = new Map<string, string>();
  const server = createServer((req, res) => {
    const body = pages.get((req.url ?? '/').split('?')[0]);
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body ?? 'not found');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return { origin: `http://127.0.0.1:${port}`, pages, close: () => server.close() };
}

let partner: Site;
let evil: Site;
test.beforeAll(async () => {
  partner = await startSite();
  evil = await startSite();
});
test.afterAll(() => {
  partner?.close();
  evil?.close();
});

type Message = { source: string; version: number; type: string; [k: string]: unknown };

/** Every message type the app sends its host, as the protocol in core/src/embed.rs names them. */
const APP_MESSAGES = [...readFileSync(resolve(__dirname, '..', '..', 'core', 'src', 'embed.rs'), 'utf8').matchAll(/\("([a-z-]+)",\s*json!/g)].map((m) => m[1]);

async function serveApp(page: Page) {
  await page.route('**/config.json', (route) =>
    route.fulfill({
      json: {
        api: { kind: 'native', base_urls: ['/api/v1'] },
        channel: 'web',
        locale: 'zh-CN',
        mode: { kind: 'embed', allowed_origins: [partner.origin], channels: ['partner-a'] },
      },
    }),
  );
}

/**
 * A page of `site` embedding the app with `attributes`, recording every event the script re-sends
 * (`received`) and every message the page's window gets, from anyone (`posted`).
 */
function servePartner(site: Site, path: string, attributes: string, extra = '') {
  const app = test.info().project.use.baseURL!;
  site.pages.set(
    path,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Partner portal</title></head>
<body><main><h1>Partner portal</h1>
<div id="booking" data-fairslot ${attributes}></div>
${extra}
</main>
<script>
  window.received = [];
  for (const t of ${JSON.stringify(APP_MESSAGES)}) {
    document.addEventListener('fairslot:' + t, (e) => window.received.push(e.detail));
  }
  window.posted = [];
  window.addEventListener('message', (e) => window.posted.push({ origin: e.origin, data: e.data }));
</script>
<script src="${app}/embed.js"></script>
</body></html>`,
  );
}

const received = (page: Page) => page.evaluate(() => (window as unknown as { received: Message[] }).received);
const posted = (page: Page) => page.evaluate(() => (window as unknown as { posted: { origin: string; data: unknown }[] }).posted);
const frameOf = (page: Page): FrameLocator => page.frameLocator('#booking iframe');
const appFrame = (page: Page): Frame =>
  page.frames().find((f) => new URL(f.url()).origin === new URL(test.info().project.use.baseURL!).origin)!;
const styleIn = (page: Page, property: string) =>
  appFrame(page).evaluate((p) => getComputedStyle(document.documentElement).getPropertyValue(p).trim(), property);
const brandIn = (page: Page) => styleIn(page, '--brand');

/**
 * Waits until a message `from` posts to the host page now has arrived. A window's messages arrive
 * in the order they were posted, so everything posted before it has arrived too.
 */
async function flushMessages(page: Page, from: Frame) {
  const marker = `flush-${Math.random()}`;
  await from.evaluate((m) => window.parent.postMessage(m, '*'), marker);
  await expect.poll(async () => (await posted(page)).some((p) => p.data === marker)).toBe(true);
  return marker;
}

/** From the department page inside the frame: the doctor, the day, the slot, the form, confirm. */
async function bookInFrame(app: FrameLocator, schedule: Schedule, session: Session, slot: Slot) {
  const doctor = schedule.doctors.find((d) => d.id === session.doctor_id)!;
  await app.locator('.doctor-card').filter({ hasText: doctor.name.en }).getByRole('link').click();
  await app.locator(`.day[data-date="${session.date}"]`).click();
  await app.locator(`.slot[data-slot="${slot.id}"] a`).click();
  await app.getByLabel('Full name').fill('Li Lei');
  await app.getByLabel('Document number').fill(person.id);
  await app.getByLabel('Mobile number').fill(person.phone);
  await app.getByLabel(/I have read/).check();
  await app.getByRole('button', { name: 'Continue' }).click();
  await app.getByRole('button', { name: 'Confirm booking' }).click();
}

test('a partner embeds the app with one script: preselection, events, height and a readable theme', async ({ page }) => {
  await serveApp(page);
  servePartner(partner, '/portal', 'data-hospital="h1" data-department="h1-cardio" data-lang="en" data-channel="partner-a" data-brand="#ffd60a"');
  await page.goto(`${partner.origin}/portal`);
  await expect(page.locator('#booking iframe')).toHaveAttribute('title', 'Hospital appointment booking');
  const app = frameOf(page);
  // The department chosen by the partner opens at once, in the partner's language.
  await expect(app.getByRole('heading', { level: 1 })).toBeVisible();
  await expect(app.locator('.doctor-card').first()).toBeVisible();
  await expect.poll(async () => (await received(page)).map((m) => m.type)).toEqual(expect.arrayContaining(['ready', 'route', 'resized']));
  const route = (await received(page)).filter((m) => m.type === 'route').pop()!;
  expect(route.path).toBe('/hospitals/h1/departments/h1-cardio');
  for (const m of await received(page)) expect(m).toMatchObject({ source: 'fairslot', version: 1 });

  // The iframe takes the height the app reports.
  await expect.poll(async () => {
    const last = (await received(page)).filter((m) => m.type === 'resized').pop();
    const box = await page.locator('#booking iframe').boundingBox();
    return last && box ? Math.abs(box.height - Math.ceil(last.height as number)) : 999;
  }).toBeLessThanOrEqual(1);

  // A brand too pale for white text is darkened until it reads at 4.5:1, not taken as it is.
  await expect.poll(() => brandIn(page)).toMatch(/^#[0-9a-f]{6}$/);
  expect(await brandIn(page)).not.toBe('#ffd60a');
  // The partner restyles the app through the script.
  await page.evaluate(() => (document.getElementById('booking') as unknown as { fairslot: { setTheme: (t: object) => void } }).fairslot.setTheme({ brand: '#7b2cbf' }));
  await expect.poll(() => brandIn(page)).toBe('#7b2cbf');
  await expectAccessible(page);
});

test('a booking made through the embed carries the partner channel and tells the host its code and time only', async ({ page, request }) => {
  const schedule = await api<Schedule>(request, '/schedules?doctor=h1-cardio-6&days=14');
  const { session, slot } = await freeSlot(request, 'h1-cardio-6', 30);
  await serveApp(page);
  servePartner(partner, '/booking', 'data-hospital="h1" data-department="h1-cardio" data-lang="en" data-channel="partner-a"');
  await page.goto(`${partner.origin}/booking`);
  const app = frameOf(page);
  await bookInFrame(app, schedule, session, slot);
  await expect(app.locator('.ticket-code')).toBeVisible();
  const code = (await app.locator('.ticket-code').textContent())!;

  await expect.poll(async () => (await received(page)).filter((m) => m.type === 'booking-confirmed')).toHaveLength(1);
  const confirmed = (await received(page)).find((m) => m.type === 'booking-confirmed')!;
  // Exactly the code and the time: nothing about the patient crosses to the partner's page.
  expect(Object.keys(confirmed).sort()).toEqual(['code', 'source', 'start', 'type', 'version']);
  expect(confirmed.code).toBe(code);
  expect(Date.parse(confirmed.start as string)).toBe(Date.parse(slot.start));
  const booking = await lookupBooking<{ channel: string }>(request, code, person.last4);
  expect(booking.channel).toBe('partner-a');
});

test('a booking refused by the server is reported to the host with its reason only', async ({ page, request }) => {
  const schedule = await api<Schedule>(request, '/schedules?doctor=h1-cardio-6&days=14');
  // The last bookable slot of the first session that has one.
  const open = await bookableSlots(request, 'doctor=h1-cardio-6');
  const { session, slot } = open.filter((o) => o.session.id === open[0].session.id).pop()!;
  await serveApp(page);
  // The server answers the confirmation: someone else got the last place.
  await page.route('**/api/v1/bookings', (route) =>
    route.request().method() === 'POST'
      ? route.fulfill({
          status: 409,
          contentType: 'application/problem+json',
          json: { type: 'urn:fairslot:problem:slot-taken', title: 'Slot taken', status: 409 },
        })
      : route.continue(),
  );
  servePartner(partner, '/refused', `data-hospital="h1" data-department="h1-cardio" data-lang="en"`);
  await page.goto(`${partner.origin}/refused`);
  const app = frameOf(page);
  await bookInFrame(app, schedule, session, slot);
  await expect(app.getByText('This slot has just been taken')).toBeVisible();
  await expect.poll(async () => (await received(page)).filter((m) => m.type === 'booking-failed')).toHaveLength(1);
  const failed = (await received(page)).find((m) => m.type === 'booking-failed')!;
  expect(failed).toEqual({ source: 'fairslot', version: 1, type: 'booking-failed', reason: 'slot-taken' });
});

test('the bridge to the host page missing at first: the patient sees no error, and the bridge comes once it can be fetched', async ({ page }) => {
  await serveApp(page);
  let refused = 0;
  await page.context().route(/\/split_embed-[0-9a-f]+\.wasm$/, (route) => {
    if (refused++ === 0) return route.abort('connectionreset');
    return route.continue();
  });
  servePartner(partner, '/flaky', 'data-hospital="h1" data-lang="en"');
  await page.goto(`${partner.origin}/flaky`);
  const app = frameOf(page);
  await expect(app.locator('.department-group, .card').first()).toBeVisible();
  await expect(app.getByRole('alert')).toHaveCount(0);
  // Tried again quietly: the host hears from the app after all, and the frame takes its height.
  await expect.poll(async () => (await received(page)).map((m) => m.type), { timeout: 15_000 }).toEqual(expect.arrayContaining(['ready', 'resized']));
  expect(refused).toBeGreaterThan(1);
  await expect(app.getByRole('alert')).toHaveCount(0);
});

test('a page the config does not allow gets a refusal and no messages; a stranger frame cannot restyle the app', async ({ page }) => {
  await serveApp(page);
  servePartner(evil, '/copycat', 'data-hospital="h1" data-lang="en"');
  await page.goto(`${evil.origin}/copycat`);
  const app = frameOf(page);
  await expect(app.getByText('can only be shown inside the partner sites its operator allows')).toBeVisible();
  await expect(app.locator('.hospital-card, .doctor-card')).toHaveCount(0);
  // The refusal is drawn where the app decides it is framed by a stranger: whatever it posted
  // up to there has reached the host once a message the frame posts now has.
  const marker = await flushMessages(page, appFrame(page));
  expect(await received(page)).toEqual([]);
  expect((await posted(page)).filter((p) => p.data !== marker)).toEqual([]);

  // On the allowed page, a frame from another origin posts a theme to the app: ignored.
  evil.pages.set(
    '/frame',
    `<!doctype html><html lang="en"><title>x</title><script>
      window.addEventListener('message', (e) => {
        if (e.data !== 'go') return;
        // To every other frame of the page: the order of window.frames is not the page's order.
        for (let i = 0; i < parent.frames.length; i++) {
          if (parent.frames[i] !== window) parent.frames[i].postMessage({ source: 'fairslot-host', version: 1, type: 'theme', theme: { brand: '#aa0000' } }, '*');
        }
        parent.postMessage('stranger-posted', '*');
      });
    </script></html>`,
  );
  servePartner(partner, '/with-advert', 'data-hospital="h1" data-lang="en"', `<iframe id="stranger" title="Advert" src="${evil.origin}/frame"></iframe>`);
  await page.goto(`${partner.origin}/with-advert`);
  await expect(frameOf(page).locator('.department-group, .card').first()).toBeVisible();
  // The bridge that reads messages in is listening once it has said it is ready.
  await expect.poll(async () => (await received(page)).some((m) => m.type === 'ready')).toBe(true);
  const before = await brandIn(page);
  await page.evaluate(() => (document.getElementById('stranger') as HTMLIFrameElement).contentWindow!.postMessage('go', '*'));
  // The stranger has posted its theme once it says so to the host page...
  await expect.poll(async () => (await posted(page)).some((p) => p.data === 'stranger-posted')).toBe(true);
  // ...and the app has read it once it has read a later one: the host's, which only rounds the
  // corners (the brand is left as it is).
  expect(await styleIn(page, '--radius')).not.toBe('7px');
  await page.evaluate(() => (document.getElementById('booking') as unknown as { fairslot: { setTheme: (t: object) => void } }).fairslot.setTheme({ radius: '7px' }));
  await expect.poll(() => styleIn(page, '--radius')).toBe('7px');
  expect(await brandIn(page)).toBe(before);
});

test('a service worker the browser refuses in a frame is no unhandled rejection', async ({ page }) => {
  // As a browser does where a framed page may not have one (third-party storage blocked): the
  // registration is refused. The app works without a worker and must not leave the refusal
  // unhandled in the partner's console.
  await page.context().addInitScript(() => {
    const w = window as unknown as { rejections: string[]; refused: number; reported: boolean };
    w.rejections = [];
    w.refused = 0;
    w.reported = false;
    const sentinel = new Error('rejected with the refusal, and left unhandled on purpose');
    window.addEventListener('unhandledrejection', (e) => {
      if (e.reason === sentinel) {
        e.preventDefault();
        w.reported = true;
      } else {
        w.rejections.push(String(e.reason));
      }
    });
    if (navigator.serviceWorker) {
      navigator.serviceWorker.register = () => {
        w.refused++;
        const refusal = Promise.reject(new DOMException('Failed to register a ServiceWorker: access to storage is denied', 'SecurityError'));
        // The browser reports unhandled rejections in the order they happened: once this one is
        // reported, the refusal would have been too, had the app left it unhandled.
        void Promise.reject(sentinel);
        return refusal;
      };
    }
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await serveApp(page);
  servePartner(partner, '/no-worker', 'data-hospital="h1" data-department="h1-cardio" data-lang="en"');
  await page.goto(`${partner.origin}/no-worker`);
  await expect(frameOf(page).locator('.doctor-card').first()).toBeVisible();
  const frame = appFrame(page);
  await expect.poll(() => frame.evaluate(() => (window as unknown as { reported: boolean }).reported)).toBe(true);
  const seen = await frame.evaluate(() => {
    const w = window as unknown as { rejections: string[]; refused: number };
    return { rejections: w.rejections, refused: w.refused };
  });
  // The app did ask, was refused, and handled it.
  expect(seen.refused).toBe(1);
  expect(seen.rejections).toEqual([]);
  expect(errors.filter((e) => /ServiceWorker/.test(e))).toEqual([]);
});
