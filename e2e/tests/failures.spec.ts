import { expect, expectAccessible, hospitals, test } from './support';

test.describe('the config file', () => {
  test('an invalid config names each bad field in the patient\'s language', async ({ page }) => {
    await page.route('**/config.json', (route) =>
      route.fulfill({
        contentType: 'application/json',
        body: JSON.stringify({ api: { kind: 'soap', base_urls: ['javascript:alert(1)'] }, channel: 'Web Portal' }),
      }),
    );
    await page.goto('/?lang=en');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('This page is not set up correctly');
    const errors = page.locator('.config-errors li');
    await expect(errors).toHaveCount(3);
    await expect(errors.nth(0)).toContainText('api.kind');
    await expect(errors.nth(0)).toContainText('native, fhir');
    await expect(errors.nth(1)).toContainText('api.base_urls[0]');
    await expect(errors.nth(2)).toContainText('channel');
    await expectAccessible(page);
    await page.getByRole('button', { name: '切换到中文' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('此页面的配置有误');
  });

  test('a config that is not JSON says so', async ({ page }) => {
    await page.route('**/config.json', (route) => route.fulfill({ contentType: 'application/json', body: '{"api": ' }));
    await page.goto('/?lang=en');
    await expect(page.locator('.config-errors li')).toContainText('not valid JSON');
  });

  test('a missing config offers a retry that recovers once the file is back', async ({ page }) => {
    let missing = true;
    await page.route('**/config.json', (route) => (missing ? route.fulfill({ status: 404, body: 'not found' }) : route.continue()));
    await page.goto('/?lang=en');
    await expect(page.getByText('The configuration file config.json could not be loaded')).toBeVisible();
    missing = false;
    await page.getByRole('button', { name: 'Try again' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Choose a hospital');
  });

  test('URL parameters cannot point the app at another API or change the channel', async ({ page }) => {
    const seen: string[] = [];
    const channels = new Set<string | undefined>();
    page.on('request', (r) => {
      seen.push(new URL(r.url()).host);
      if (r.url().includes('/api/v1/')) channels.add(r.headers()['x-fairslot-channel']);
    });
    await page.goto('/?api=http://127.0.0.2:9/api/v1&channel=favoured&lang=en');
    await expect(page.locator('.hospital-card').first()).toBeVisible();
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.filter((host) => host !== new URL(page.url()).host)).toEqual([]);
    expect([...channels]).toEqual(['web']);
  });
});

test.describe('the booking API failing', () => {
  test('a network failure explains itself, and retry recovers', async ({ page, request }) => {
    const all = await hospitals(request);
    let down = true;
    await page.route('**/api/v1/hospitals', (route) => (down ? route.abort('internetdisconnected') : route.continue()));
    await page.goto('/?lang=en');
    await expect(page.getByRole('alert')).toContainText('You seem to be offline');
    await expectAccessible(page);
    down = false;
    await page.getByRole('button', { name: 'Try again' }).click();
    await expect(page.locator('.hospital-card')).toHaveCount(all.length);
  });

  test('with the first API endpoint down, the next one answers and stays first', async ({ page }) => {
    // The dead endpoint is a closed loopback port on another origin: connection refused.
    const dead = 'http://127.0.0.1:9/api/v1';
    await page.route('**/config.json', (route) =>
      route.fulfill({
        contentType: 'application/json',
        body: JSON.stringify({ api: { kind: 'native', base_urls: [dead, '/api/v1'] }, channel: 'web' }),
      }),
    );
    const tries: string[] = [];
    page.on('request', (r) => r.url().startsWith(dead) && tries.push(r.url()));
    await page.goto('/?lang=en');
    await expect(page.locator('.hospital-card').first()).toBeVisible();
    await page.locator('.hospital-card a').first().click();
    await expect(page.locator('.department-group').first()).toBeVisible();
    // Only the very first request found out the hard way.
    expect(tries.length).toBe(1);
  });

  test('a server error says the service is unavailable', async ({ page }) => {
    await page.route('**/api/v1/hospitals', (route) =>
      route.fulfill({ status: 503, contentType: 'text/html', body: '<h1>Service Unavailable</h1>' }),
    );
    await page.goto('/?lang=zh-CN');
    await expect(page.getByRole('alert')).toContainText('预约服务暂时不可用');
  });

  test('malformed or hostile data is refused with a message, never run', async ({ page }) => {
    await page.route('**/api/v1/hospitals', (route) =>
      route.fulfill({ contentType: 'application/json', body: '{"items":[{"id":"x","name":"<img src=x onerror=alert(1)>"}]}' }),
    );
    let dialog = false;
    page.on('dialog', () => (dialog = true));
    await page.goto('/?lang=en');
    await expect(page.getByRole('alert')).toContainText('sent data we could not read');
    expect(dialog).toBeFalsy();
  });

  test('hostile names that are well-formed are shown as text', async ({ page, request }) => {
    const all = await hospitals(request);
    const evil = { ...all[0], name: { zh: '<img src=x onerror=alert(1)>', en: '<script>alert(1)</script>' } };
    await page.route('**/api/v1/hospitals', (route) =>
      route.fulfill({ contentType: 'application/json', body: JSON.stringify({ items: [evil] }) }),
    );
    let dialog = false;
    page.on('dialog', () => (dialog = true));
    await page.goto('/?lang=en');
    await expect(page.locator('.hospital-card h2')).toHaveText('<script>alert(1)</script>');
    expect(await page.locator('.hospital-card img, .hospital-card script').count()).toBe(0);
    expect(dialog).toBeFalsy();
  });

  test('a department under another hospital\'s address is not found', async ({ page }) => {
    await page.goto('/hospitals/h2/departments/h1-cardio?lang=en');
    await expect(page.getByRole('alert')).toContainText('We could not find this');
    await page.goto('/hospitals/h2/departments/h1-cardio/doctors/h1-cardio-4?lang=en');
    await expect(page.getByRole('alert')).toContainText('We could not find this');
  });

  test('a deployment pinned to one hospital opens it, and no URL reaches another', async ({ page }) => {
    await page.route('**/config.json', (route) =>
      route.fulfill({
        contentType: 'application/json',
        body: JSON.stringify({ api: { kind: 'native', base_urls: ['/api/v1'] }, channel: 'h1-site', hospital: 'h1' }),
      }),
    );
    await page.goto('/?lang=en&hospital=h2');
    await expect(page).toHaveURL(/\/hospitals\/h1$/);
    await page.goto('/hospitals/h2?lang=en');
    await expect(page.getByRole('alert')).toContainText('We could not find this');
  });

  test('an unknown hospital id shows not found with a way back', async ({ page }) => {
    await page.goto('/hospitals/no-such-hospital?lang=en');
    await expect(page.getByRole('alert')).toContainText('We could not find this');
    await page.goto('/no/such/page?lang=en');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Page not found');
    await expectAccessible(page);
  });
});
