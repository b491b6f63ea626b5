import { api, expect, expectAccessible, findSession, hhmm, hospitals, test, type Schedule } from './support';

test.describe('browse: hospital → department → doctor → schedule', () => {
  test('search as you type and filters narrow the hospital list, and survive reload', async ({ page, request }) => {
    const all = await hospitals(request);
    expect(all.length).toBeGreaterThanOrEqual(4);
    await page.goto('/?lang=zh-CN');
    const cards = page.locator('.hospital-card');
    await expect(cards).toHaveCount(all.length);
    await expectAccessible(page);

    // Typing part of one hospital's Chinese name leaves only the hospitals that contain it.
    const target = all[all.length - 1];
    const fragment = target.name.zh.slice(0, 4);
    const expected = all.filter((h) => h.name.zh.includes(fragment)).length;
    await page.getByRole('searchbox').fill(fragment);
    await expect(cards).toHaveCount(expected);
    await expect(cards.filter({ hasText: target.name.zh })).toHaveCount(1);

    // The query is in the URL: reload keeps it.
    await page.reload();
    await expect(page.getByRole('searchbox')).toHaveValue(fragment);
    await expect(cards).toHaveCount(expected);

    // A word that matches nothing shows the empty state, whose button clears the filters.
    await page.getByRole('searchbox').fill('不存在的医院xyz');
    await expect(cards).toHaveCount(0);
    await expect(page.getByText('没有符合条件的医院')).toBeVisible();
    await expectAccessible(page);
    await page.getByRole('button', { name: '清除筛选' }).click();
    await expect(cards).toHaveCount(all.length);

    // Level and district filters.
    const level3A = all.filter((h) => h.level === '3A').length;
    await page.getByLabel('等级').selectOption('3A');
    await expect(cards).toHaveCount(level3A);
    await page.getByLabel('等级').selectOption('');
    const district = all[0].district;
    await page.getByLabel('区域').selectOption(district.id);
    await expect(cards).toHaveCount(all.filter((h) => h.district.id === district.id).length);
  });

  test('a patient walks from the list to a doctor schedule, and every page can be reloaded', async ({ page, request }) => {
    const [first] = await hospitals(request);
    await page.goto('/?lang=zh-CN');
    await page.getByRole('link', { name: first.name.zh }).click();
    await expect(page).toHaveURL(new RegExp(`/hospitals/${first.id}$`));
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(first.name.zh);
    // Keyboard and screen-reader users land on the new page's content.
    await expect(page.locator('#main')).toBeFocused();
    await expectAccessible(page);

    // Department search narrows the tree.
    const tree = await api<{ groups: { name: { zh: string }; departments: { id: string; name: { zh: string } }[] }[] }>(
      request,
      `/hospitals/${first.id}/departments`,
    );
    const allDeps = tree.groups.flatMap((g) => g.departments);
    expect(tree.groups.length).toBeGreaterThanOrEqual(2);
    expect(allDeps.length).toBeGreaterThanOrEqual(8);
    const dep = allDeps[0];
    await page.getByRole('searchbox').fill(dep.name.zh);
    await expect(page.locator('.department-group')).toHaveCount(
      tree.groups.filter((g) => g.name.zh.includes(dep.name.zh) || g.departments.some((d) => d.name.zh.includes(dep.name.zh))).length,
    );
    await page.getByRole('link', { name: dep.name.zh, exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`/departments/${dep.id}$`));
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(dep.name.zh);

    // Doctors with title, fee and a 7-day glance.
    const doctors = await api<{ items: { id: string; name: { zh: string }; fee_fen: number }[] }>(
      request,
      `/departments/${dep.id}/doctors`,
    );
    const doctorCards = page.locator('.doctor-card');
    await expect(doctorCards).toHaveCount(doctors.items.length);
    const doctor = doctors.items[0];
    const card = doctorCards.filter({ hasText: doctor.name.zh });
    await expect(card).toContainText(`¥${(doctor.fee_fen / 100).toFixed(2)}`);
    await expect(card.locator('.glance li')).toHaveCount(7);
    await expectAccessible(page);
    await page.reload();
    await expect(doctorCards).toHaveCount(doctors.items.length);

    await card.getByRole('link', { name: doctor.name.zh }).click();
    await expect(page).toHaveURL(new RegExp(`/doctors/${doctor.id}$`));
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(doctor.name.zh);
    await expect(page.locator('.day-strip .day')).toHaveCount(14);
    await expect(page.getByText('时间均为医院当地时间（UTC+08:00）')).toBeVisible();
    await expectAccessible(page);

    // Choosing a day puts it in the URL; reload shows the same day.
    const third = page.locator('.day-strip .day').nth(2);
    const date = await third.getAttribute('data-date');
    await third.click();
    await expect(page).toHaveURL(new RegExp(`day=${date}`));
    await page.reload();
    await expect(page.locator(`.day[data-date="${date}"]`)).toHaveAttribute('aria-pressed', 'true');
  });

  test('a department schedule lists every doctor of the chosen day and links to each', async ({ page, request }) => {
    const { hospital, session, schedule } = await findSession(request, (s) => s.status === 'open');
    await page.goto(`/hospitals/${hospital.id}/departments/${session.department_id}/schedule?day=${session.date}&lang=en`);
    const dayCount = schedule.sessions.filter((s) => s.date === session.date).length;
    await expect(page.locator('.session-row')).toHaveCount(dayCount);
    const doctor = schedule.doctors.find((d) => d.id === session.doctor_id)!;
    await expectAccessible(page);
    await page.locator('.session-row').filter({ hasText: doctor.name.en }).first().getByRole('link').click();
    await expect(page).toHaveURL(new RegExp(`/doctors/${doctor.id}\\?day=${session.date}`));
    await expect(page.locator(`.day[data-date="${session.date}"]`)).toHaveAttribute('aria-pressed', 'true');
  });
});

test.describe('schedule states', () => {
  for (const [status, zh, en] of [
    ['stopped', '停诊', 'Clinic cancelled'],
    ['full', '约满', 'Full'],
  ] as const) {
    test(`a ${status} session says so in both languages`, async ({ page, request }) => {
      const { hospital, session } = await findSession(request, (s) => s.status === status);
      const url = `/hospitals/${hospital.id}/departments/${session.department_id}/doctors/${session.doctor_id}?day=${session.date}`;
      await page.goto(`${url}&lang=zh-CN`);
      const card = page.locator(`.period[data-period="${session.period}"] .session-card`);
      await expect(card).toHaveAttribute('data-state', status);
      await expect(card.locator('.session-state')).toHaveText(zh);
      await page.getByRole('button', { name: 'Switch to English' }).click();
      await expect(card.locator('.session-state')).toHaveText(en);
    });
  }

  test('a session not yet released shows when it opens, in hospital time', async ({ page, request }) => {
    const { hospital, session } = await findSession(request, (s) => s.status === 'not_released' && !!s.release_at);
    await page.goto(
      `/hospitals/${hospital.id}/departments/${session.department_id}/doctors/${session.doctor_id}?day=${session.date}&lang=en`,
    );
    const card = page.locator(`.period[data-period="${session.period}"] .session-card`);
    // With the day, since places open on an earlier day than the session itself.
    const at = session.release_at!;
    await expect(card.locator('.session-state')).toHaveText(`Opens ${Number(at.slice(5, 7))}/${Number(at.slice(8, 10))} ${hhmm(at)}`);
  });
});

test.describe('far from the hospital', () => {
  test.use({ timezoneId: 'America/Los_Angeles' });

  test('a device in Los Angeles still sees hospital times and the hospital\'s today', async ({ page, request }) => {
    const { hospital, session } = await findSession(
      request,
      (s) => s.status === 'open' && s.slots.some((x) => x.remaining > 0 && Date.parse(x.start) > Date.now()),
    );
    const slot = session.slots.find((x) => x.remaining > 0 && Date.parse(x.start) > Date.now())!;
    expect(slot.start.endsWith('+08:00')).toBeTruthy();
    await page.goto(
      `/hospitals/${hospital.id}/departments/${session.department_id}/doctors/${session.doctor_id}?day=${session.date}`,
    );
    const shown = page.locator(`.slot[data-slot="${slot.id}"] .slot-time`);
    await expect(shown).toHaveText(`${hhmm(slot.start)}–${hhmm(slot.end)}`);
    // The first day of the strip is the hospital's today, whatever the date is in Los Angeles.
    const schedule = await api<Schedule>(request, `/schedules?doctor=${session.doctor_id}&from=${session.date}&days=1`);
    expect(schedule.utc_offset_minutes).toBe(480);
    const hospitalToday = new Date(Date.now() + 480 * 60_000).toISOString().slice(0, 10);
    await expect(page.locator('.day-strip .day').first()).toHaveAttribute('data-date', hospitalToday);
  });
});
