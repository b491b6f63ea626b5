import { expect, test } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// A second reference server whose holds last 3 seconds, so expiry happens within the test.
const root = resolve(__dirname, '..', '..');
let server: ChildProcess;
let base = '';
let dataDir = '';

test.beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'fairslot-hold-'));
  const bin = process.env.FAIRSLOT_SERVER_BIN ?? join(root, 'target', 'debug', 'fairslot-server');
  server = spawn(bin, ['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--static-dir', join(root, 'dist'), '--hold-seconds', '3', '--quiet']);
  base = await new Promise<string>((ok, fail) => {
    server.stdout!.on('data', (chunk: Buffer) => {
      const m = /listening on (http:\/\/\S+)/.exec(chunk.toString());
      if (m) ok(m[1]);
    });
    server.on('exit', (code) => fail(new Error(`server exited ${code}`)));
  });
});

test.afterAll(() => {
  server?.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

test('an expired hold says so and the slot can be taken again', async ({ page, request }) => {
  const schedule = await (await request.get(`${base}/api/v1/schedules?doctor=h1-cardio-5&days=14`)).json();
  const slot = schedule.sessions
    .filter((s: { status: string }) => s.status === 'open')
    .flatMap((s: { slots: { id: string; start: string; remaining: number }[] }) => s.slots)
    .find((x: { start: string; remaining: number }) => x.remaining > 0 && Date.parse(x.start) > Date.now() + 3_600_000);
  await page.goto(`${base}/hospitals/h1/departments/h1-cardio/doctors/h1-cardio-5/book/${slot.id}?lang=en`);
  await expect(page.getByRole('timer')).toContainText('held for you for 0:0');
  // Under a minute left: said once, politely, before the slot is lost.
  await expect(page.getByRole('status').filter({ hasText: 'Less than a minute left' })).toBeVisible();
  await page.getByLabel('Full name').fill('Li Lei');
  await expect(page.getByRole('alert')).toContainText('The hold has run out', { timeout: 10_000 });
  await page.getByRole('button', { name: 'Take this slot again' }).click();
  await expect(page.getByRole('timer')).toBeVisible();
  // What was typed before the hold ran out is still there.
  await expect(page.getByLabel('Full name')).toHaveValue('Li Lei');
});
