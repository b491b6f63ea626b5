import { defineConfig, devices } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SERVER_ARGS } from './harness';

// The real reference server serves the built app (dist/) and the API on one loopback port, with a
// fresh database for every run. scripts/test.sh picks a free port; a fixed fallback serves local runs.
const port = Number(process.env.FAIRSLOT_E2E_PORT ?? 18080);
const root = resolve(__dirname, '..');
const server = process.env.FAIRSLOT_SERVER_BIN ?? join(root, 'target', 'debug', 'fairslot-server');
const dataDir = mkdtempSync(join(tmpdir(), 'fairslot-e2e-'));
export const baseURL = `http://127.0.0.1:${port}`;

// Debian's Chromium, never a downloaded browser. As root it needs --no-sandbox, and on a closed
// network the background services must stay off.
const launchOptions = {
  executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    '--disable-sync',
    '--disable-gpu',
  ],
};

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 7_000 },
  fullyParallel: false,
  workers: 2,
  // One retry absorbs a rare stall of headless Chromium's frame clock on a loaded 2-core machine;
  // the list reporter still names a test that needed it as flaky.
  retries: 1,
  reporter: [['list']],
  use: {
    baseURL,
    launchOptions,
    trace: 'retain-on-failure',
    // The service worker serves the app shell from its cache, out of page.route's sight; only
    // the offline-shell tests, which are about it, let it run.
    serviceWorkers: 'block',
  },
  projects: [
    {
      // A lobby kiosk: a portrait touch screen. Only the kiosk tests run here, and only here.
      name: 'kiosk',
      testMatch: /kiosk\.spec\.ts/,
      use: {
        browserName: 'chromium',
        viewport: { width: 1080, height: 1920 },
        hasTouch: true,
        launchOptions,
      },
    },
    {
      // A partner's page on another loopback origin, with the app in an iframe.
      name: 'embed',
      testMatch: /embed\.spec\.ts/,
      use: { browserName: 'chromium', viewport: { width: 1280, height: 800 }, launchOptions },
    },
    {
      name: 'phone',
      testIgnore: /(kiosk|embed)\.spec\.ts/,
      use: {
        ...devices['Pixel 7'],
        viewport: { width: 390, height: 844 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
        browserName: 'chromium',
        launchOptions,
      },
    },
    {
      name: 'desktop',
      testIgnore: /(kiosk|embed)\.spec\.ts/,
      use: { browserName: 'chromium', viewport: { width: 1280, height: 800 }, launchOptions },
    },
  ],
  webServer: {
    command: [server, '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--static-dir', join(root, 'dist'), '--fault-control', '--quiet', ...SERVER_ARGS.map((a) => `'${a}'`)].join(' '),
    url: `${baseURL}/api/v1/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
