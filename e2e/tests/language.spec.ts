import { expect, expectAccessible, hospitals, test } from './support';

test('the language switch changes every label and the document language, and is remembered', async ({ page, request }) => {
  const [first] = await hospitals(request);
  await page.goto('/');
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('选择医院');
  await expect(page.getByRole('link', { name: first.name.zh })).toBeVisible();

  await page.getByRole('button', { name: 'Switch to English' }).click();
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Choose a hospital');
  await expect(page.getByRole('link', { name: first.name.en })).toBeVisible();
  await expect(page.getByLabel('Level')).toBeVisible();
  await expectAccessible(page);

  await page.reload();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Choose a hospital');
  await page.getByRole('button', { name: '切换到中文' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('选择医院');
});

test('a lang parameter in the URL chooses the language', async ({ page }) => {
  await page.goto('/?lang=en');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Choose a hospital');
});
