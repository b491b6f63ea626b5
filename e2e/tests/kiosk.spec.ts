import type { APIRequestContext, Page } from '@playwright/test';
import { expect, expectAccessible, freeSlot, freshPerson, remaining, test } from './support';

// The same build on a lobby kiosk (1080×1920 portrait touch, the `kiosk` project): large type, an
// on-screen keypad, an idle warning, and a reset after which nothing of the last patient is left.

// Each test books for someone of its own: the server's real-name rules count per person and phone.
let ID = '';
let PHONE = '';
let LAST4 = '';
let MASKED = '';
test.beforeEach(() => {
  ({ id: ID, phone: PHONE, last4: LAST4, masked: MASKED } = freshPerson());
});
const NAME = 'Han Meimei';
const IDLE_SECONDS = 30;

async function kioskConfig(page: Page) {
  await page.route('**/config.json', (route) =>
    route.fulfill({
      json: {
        api: { kind: 'native', base_urls: ['/api/v1'] },
        channel: 'lobby-kiosk',
        locale: 'zh-CN',
        mode: { kind: 'kiosk', idle_seconds: IDLE_SECONDS },
      },
    }),
  );
}

/** Types on the on-screen keypad below a field. */
async function tapKeys(page: Page, keypad: string, keys: string) {
  const pad = page.getByRole('group', { name: keypad });
  for (const k of keys) await pad.getByRole('button', { name: k, exact: true }).tap();
}

async function fillOnKiosk(page: Page) {
  await page.getByLabel('Full name').fill(NAME);
  await tapKeys(page, 'Document number keypad', ID);
  await tapKeys(page, 'Mobile number keypad', PHONE);
  await page.getByLabel(/I have read/).check();
}

/** Nothing of the patient anywhere the next person could look: page, storage, databases. */
async function expectNoTrace(page: Page, secrets: string[], storageEmpty = true) {
  const html = await page.content();
  const storage = await page.evaluate(async () => {
    const dbs = (await indexedDB.databases?.()) ?? [];
    return JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, dbs });
  });
  for (const s of secrets) {
    expect(html, `page shows ${s}`).not.toContain(s);
    expect(storage, `storage keeps ${s}`).not.toContain(s);
  }
  if (storageEmpty) expect(await page.evaluate(() => localStorage.length + sessionStorage.length)).toBe(0);
}

test('a lobby patient books with the keypad and gets the ticket on screen, ready to print', async ({ page, request }) => {
  await kioskConfig(page);
  const { session, slot } = await freeSlot(request, 'h1-cardio-3', 30);
  await page.goto(`/hospitals/h1/departments/h1-cardio/doctors/h1-cardio-3?day=${session.date}&lang=en`);
  await expect(page.locator('html')).toHaveAttribute('data-mode', 'kiosk');
  // Elder-friendly: 18 pt body text, 60 px targets at least.
  const fontSize = await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
  expect(fontSize).toBeGreaterThanOrEqual(24);
  await page.locator(`.slot[data-slot="${slot.id}"] a`).tap();
  await expect(page).toHaveURL(new RegExp(`/book/${slot.id}`));

  // Numbers come from the keypad; no system keyboard is asked for.
  await expect(page.getByLabel('Document number', { exact: true })).toHaveAttribute('inputmode', 'none');
  await expect(page.getByLabel('Mobile number', { exact: true })).toHaveAttribute('inputmode', 'none');
  // Nothing typed here is offered to the next patient by the browser's autofill.
  await expect(page.getByLabel('Full name')).toHaveAttribute('autocomplete', 'off');
  await expect(page.getByLabel('Mobile number', { exact: true })).toHaveAttribute('autocomplete', 'off');
  // A passport has letters: the system keyboard, no digit keypad.
  await page.getByLabel('ID document', { exact: true }).selectOption('passport');
  await expect(page.getByLabel('Document number', { exact: true })).toHaveAttribute('inputmode', 'text');
  await expect(page.getByRole('group', { name: 'Document number keypad' })).toHaveCount(0);
  await page.getByLabel('ID document', { exact: true }).selectOption('resident_id');
  const key = page.getByRole('group', { name: 'Document number keypad' }).getByRole('button', { name: '5', exact: true });
  const box = (await key.boundingBox())!;
  expect(box.width).toBeGreaterThanOrEqual(60);
  expect(box.height).toBeGreaterThanOrEqual(60);
  await fillOnKiosk(page);
  await expect(page.getByLabel('Document number', { exact: true })).toHaveValue(ID);
  await expect(page.getByLabel('Mobile number', { exact: true })).toHaveValue(PHONE);
  // A wrong key is taken back with delete.
  await tapKeys(page, 'Mobile number keypad', '9');
  await page.getByRole('group', { name: 'Mobile number keypad' }).getByRole('button', { name: 'Delete the last character' }).tap();
  await expect(page.getByLabel('Mobile number', { exact: true })).toHaveValue(PHONE);
  await expectAccessible(page);
  await page.getByRole('button', { name: 'Continue' }).tap();
  await page.getByRole('button', { name: 'Confirm booking' }).tap();

  await expect(page).toHaveURL(/\/bookings\/[A-Z0-9]+$/);
  const ticket = page.locator('.ticket');
  await expect(ticket).toContainText(MASKED);
  await expect(ticket).not.toContainText(LAST4);
  await expect(page.getByRole('button', { name: 'Print' })).toBeVisible();
  // No calendar file to leave behind on a shared screen, and no list of bookings kept.
  await expect(page.getByRole('link', { name: 'Add to calendar' })).toHaveCount(0);
  expect(await page.evaluate(() => localStorage.getItem('fairslot.bookings'))).toBeNull();
  await expectAccessible(page);
});

test('an idle kiosk warns, can be kept, and then starts over with nothing of the patient left', async ({ page, request }) => {
  await page.clock.install();
  await kioskConfig(page);
  const { slot } = await freeSlot(request, 'h1-cardio-3', 33);
  const before = await remaining(request, 'h1-cardio-3', slot.id);
  await page.goto('/');
  await page.goto(`/hospitals/h1/departments/h1-cardio/doctors/h1-cardio-3/book/${slot.id}`);
  // The patient switches to English and starts typing.
  await page.getByRole('button', { name: 'Switch to English' }).tap();
  await expect(page.getByRole('timer')).toBeVisible();
  await expect.poll(() => remaining(request, 'h1-cardio-3', slot.id)).toBe(before - 1);
  await fillOnKiosk(page);

  // Ten quiet seconds: the last twenty before the reset are a warning anyone can dismiss.
  await page.clock.fastForward((IDLE_SECONDS - 20) * 1000 + 1000);
  const warning = page.getByRole('alertdialog', { name: 'Is anyone still here?' });
  await expect(warning).toBeVisible();
  await expect(warning).toContainText(/start over in (19|20) seconds/);
  await expect(page.getByRole('button', { name: "I'm still here" })).toBeFocused();
  // Nothing behind the dialog can be reached while it asks.
  await expect(page.locator('#main')).toHaveAttribute('inert', '');
  await expect(page.locator('#topbar')).toHaveAttribute('inert', '');
  await expectAccessible(page);
  await page.getByRole('button', { name: "I'm still here" }).tap();
  await expect(warning).toHaveCount(0);
  await expect(page.getByLabel('Full name')).toHaveValue(NAME);

  // Then the patient walks away.
  await page.clock.fastForward((IDLE_SECONDS - 20) * 1000 + 1000);
  await expect(warning).toBeVisible();
  await page.clock.fastForward(21_000);
  await expect(page).toHaveURL(/\/$/, { timeout: 15_000 });
  await expect(page.locator('.hospital-card').first()).toBeVisible();
  // Back to the kiosk's own language, the held place given back, and no trace anywhere.
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN');
  await expect.poll(() => remaining(request, 'h1-cardio-3', slot.id), { timeout: 10_000 }).toBe(before);
  await expectNoTrace(page, [NAME, ID, PHONE, LAST4]);

  // The reset took the booking page's place in the history: back leads to the start, not to it.
  await page.goBack();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator('.hospital-card').first()).toBeVisible();
  await expectNoTrace(page, [NAME, ID, PHONE]);
});

test('after a booking, the reset leaves neither the ticket nor the patient behind', async ({ page, request }) => {
  await page.clock.install();
  await kioskConfig(page);
  const { slot } = await freeSlot(request, 'h1-cardio-3', 36);
  await page.goto('/?lang=en');
  await page.goto(`/hospitals/h1/departments/h1-cardio/doctors/h1-cardio-3/book/${slot.id}?lang=en`);
  await fillOnKiosk(page);
  await page.getByRole('button', { name: 'Continue' }).tap();
  await page.getByRole('button', { name: 'Confirm booking' }).tap();
  await expect(page).toHaveURL(/\/bookings\/[A-Z0-9]+$/);
  const code = page.url().split('/').pop()!;
  await expect(page.locator('.ticket-code')).toHaveText(code);

  await page.clock.fastForward(IDLE_SECONDS * 1000 + 1000);
  await page.clock.fastForward(1000);
  await expect(page).toHaveURL(/\/$/, { timeout: 15_000 });
  await expectNoTrace(page, [NAME, ID, PHONE, code, 'H*********']);
  // The patient's pages left the history: back leads to the start; forward, if anything,
  // reaches a ticket address that shows no ticket.
  await page.goBack();
  await expect(page).toHaveURL(/\/(\?lang=en)?$/);
  await expectNoTrace(page, [NAME, ID, PHONE, code, MASKED]);
  await page.goForward();
  await page.goForward();
  await expect(page.locator('.ticket')).toHaveCount(0);
  await expectNoTrace(page, [NAME, ID, PHONE, MASKED], false);
});

test('links out of the app do nothing on a kiosk', async ({ page }) => {
  await kioskConfig(page);
  await page.goto('/?lang=en');
  await expect(page.locator('.hospital-card').first()).toBeVisible();
  await page.evaluate(() => {
    // Last on each click's way, after every listener of the app: whether the click was refused
    // (a refused click's link is not followed at all, in this tab or another).
    const w = window as unknown as { clicks: { href: string; refused: boolean }[] };
    w.clicks = [];
    window.addEventListener('click', (e) => {
      w.clicks.push({ href: (e.target as Element).closest('a')?.getAttribute('href') ?? '', refused: e.defaultPrevented });
    });
    for (const [href, target] of [['https://example.org/', ''], ['/bookings', '_blank'], ['tel:+8612345', '']]) {
      const a = document.createElement('a');
      a.href = href;
      if (target) a.target = target;
      a.textContent = `out ${href}`;
      a.className = 'test-out';
      document.querySelector('main')!.append(a);
    }
  });
  const popups: unknown[] = [];
  page.context().on('page', (p) => popups.push(p));
  for (const link of await page.locator('.test-out').all()) await link.click();
  expect(await page.evaluate(() => (window as unknown as { clicks: unknown[] }).clicks)).toEqual([
    { href: 'https://example.org/', refused: true },
    { href: '/bookings', refused: true },
    { href: 'tel:+8612345', refused: true },
  ]);
  expect(popups).toHaveLength(0);
  expect(new URL(page.url()).origin).toBe(new URL(test.info().project.use.baseURL!).origin);
  await expect(page.locator('.hospital-card').first()).toBeVisible();
});

test('after the reset, forward leads to none of the last patient\'s pages and holds nothing again', async ({ page, request }) => {
  await page.clock.install();
  await kioskConfig(page);
  const { session, slot } = await freeSlot(request, 'h1-cardio-3', 39);
  const schedule = `/hospitals/h1/departments/h1-cardio/doctors/h1-cardio-3?day=${session.date}&lang=en`;
  await page.goto(schedule);
  // The patient moves about in the app: schedule, booking page, back to the schedule, booking
  // page again, each a new entry in the tab's history.
  const slotLink = page.locator(`.slot[data-slot="${slot.id}"] a`);
  await slotLink.tap();
  await expect(page.getByRole('timer')).toBeVisible();
  await page.getByRole('link', { name: 'Back to the schedule' }).tap();
  await slotLink.tap();
  await expect(page.getByRole('timer')).toBeVisible();
  await fillOnKiosk(page);
  const before = await remaining(request, 'h1-cardio-3', slot.id);
  await page.evaluate(() => ((window as unknown as { lastPatient: boolean }).lastPatient = true));

  await page.clock.fastForward(IDLE_SECONDS * 1000 + 1000);
  await page.clock.fastForward(1000);
  await expect(page).toHaveURL(/\/$/, { timeout: 15_000 });
  await expect(page.locator('.hospital-card').first()).toBeVisible();
  await expect.poll(() => remaining(request, 'h1-cardio-3', slot.id), { timeout: 10_000 }).toBe(before + 1);
  // The reset ends by loading the app afresh: a new document, without the last one's memory.
  await page.clock.fastForward(5_000);
  await expect
    .poll(() => page.evaluate(() => !('lastPatient' in window)).catch(() => false), { timeout: 10_000 })
    .toBe(true);
  await expect(page.locator('.hospital-card').first()).toBeVisible();

  // The next person presses forward, again and again, and back and forward: nothing of the last
  // patient comes back, and no place is held again.
  const holds: string[] = [];
  page.on('request', (r) => r.method() === 'POST' && r.url().includes('/api/v1/holds') && holds.push(r.url()));
  // Every page the tab shows from here on, however briefly: a hold is only ever taken by a
  // booking page, so none of them may be one.
  const shown: string[] = [];
  page.on('framenavigated', (f) => f === page.mainFrame() && shown.push(f.url()));
  const seen: string[] = [];
  for (let i = 0; i < 5; i++) {
    await page.goForward();
    seen.push(page.url());
  }
  await page.goBack();
  seen.push(page.url());
  for (let i = 0; i < 5; i++) {
    await page.goForward();
    seen.push(page.url());
  }
  for (const url of [...seen, ...shown]) expect(url, 'a page of the last patient').not.toMatch(/\/doctors\/|\/book\//);
  // Nor is any left in the tab's history for a later press to reach, and forward leads nowhere.
  const history = await page.evaluate(() => {
    const { navigation } = window as unknown as { navigation: { canGoForward: boolean; entries: () => { url: string | null }[] } };
    return { forward: navigation.canGoForward, entries: navigation.entries().map((e) => e.url ?? '') };
  });
  expect(history.forward).toBe(false);
  for (const url of history.entries) expect(url, 'a page of the last patient').not.toMatch(/\/doctors\/|\/book\//);
  await expect(page.getByRole('timer')).toHaveCount(0);
  expect(holds).toEqual([]);
  expect(await remaining(request, 'h1-cardio-3', slot.id)).toBe(before + 1);
  await expectNoTrace(page, [NAME, ID, PHONE], false);
});
