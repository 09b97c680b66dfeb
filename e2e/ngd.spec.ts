// The Wide NGD page end to end on software WebGPU: NGD, GD and K-FAC on the two-layer ReLU net at two
// widths in the worker; NGD's per-step ratio is near 1 − η at the wider net, the charts hold data,
// the width slider switches the width shown, and the JSON export downloads.
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';

async function waitForBackend(page: Page): Promise<void> {
  await expect.poll(() => page.evaluate(() => window.__lab?.lab.backend?.device.backend ?? null), { timeout: 60_000 }).not.toBeNull();
}

test.describe('the Wide NGD page on software WebGPU', { tag: '@webgpu-on' }, () => {
  test('runs NGD, GD and K-FAC at two widths and shows residuals, trajectories and the ratio against width', async ({ page }) => {
    test.setTimeout(90_000);
    await page.goto('/#/ngd?dataset=points&n=16&widths=16,1024&eta=0.5&steps=5&seed=2');
    await waitForBackend(page);
    expect(await page.evaluate(() => window.__lab!.lab.backend!.webgpu)).toBe(true);
    await expect(page.getByRole('link', { name: 'Wide NGD' })).toHaveAttribute('aria-current', 'page');
    await expect.poll(() => page.evaluate(() => window.__ngd?.state.chartsReady ?? false), { timeout: 60_000 }).toBe(true);
    await expect(page.getByTestId('ngd-widths')).toHaveValue('16, 1024');

    await page.getByTestId('ngd-run').click();
    await expect(page.getByTestId('ngd-progress').getByRole('progressbar')).toBeVisible();
    await expect
      .poll(() => page.evaluate(() => window.__ngd!.state.job?.status ?? null), { timeout: 80_000 })
      .toMatch(/done|failed|cancelled/);
    expect(await page.evaluate(() => window.__ngd!.state.job?.error ?? null)).toBeNull();

    const result = (await page.evaluate(() => window.__ngd!.state.result))!;
    expect(result.device).toMatch(/webgpu/i);
    const widths = result.comparison.widths;
    expect(widths.map((w) => w.width)).toEqual([16, 1024]);
    // 16 ReLU units can leave the 16 points' Gram matrix (nearly) singular; 1024 cannot.
    expect(widths[1].lambda0).toBeGreaterThan(0);
    expect(widths[0].lambda0).toBeLessThan(widths[1].lambda0);
    for (const w of widths) {
      expect(w.runs.map((r) => r.method)).toEqual(['ngd', 'gd', 'kfac']);
      for (const r of w.runs) expect(r.ratios.every(Number.isFinite), `${w.width} ${r.method}`).toBe(true);
    }
    const ngdWide = widths[1].runs[0];
    for (const ratio of ngdWide.ratios) expect(Math.abs(ratio - 0.5), ngdWide.ratios.join(', ')).toBeLessThan(0.1);

    await expect
      .poll(() => page.evaluate(() => window.__lab!.lab.chartPoints()), { timeout: 20_000 })
      .toMatchObject({ 'ngd-residual': expect.arrayContaining([6]), 'ngd-trajectory': [6, 6, 6, 1], 'ngd-ratio': [2, 2, 2] });
    await expect(page.getByTestId('ngd-width-shown')).toHaveText('1024');
    await page.getByTestId('ngd-width-slider').fill('0');
    await expect(page.getByTestId('ngd-width-shown')).toHaveText('16');
    await expect(page.getByTestId('ngd-width-table').getByRole('row')).toHaveCount(3);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('ngd-export').click()]);
    expect(download.suggestedFilename()).toBe('kfac-lab-ngd-points-n16-eta0.5.json');
    const exported = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    expect(exported.result.comparison.widths).toHaveLength(2);
  });
});
