// The Pruning page end to end on software WebGPU: it trains the MNIST MLP briefly in the worker,
// prunes it with magnitude, WoodFisher and K-FAC-OBS at two sparsities, and shows the accuracy
// chart, the predicted-vs-measured chart and the first layer's masks as pixel tiles; the result
// exports as JSON. A bad link falls back to the defaults with a message.
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';

async function waitForBackend(page: Page): Promise<void> {
  await expect.poll(() => page.evaluate(() => window.__lab?.lab.backend?.device.backend ?? null), { timeout: 60_000 }).not.toBeNull();
}

test.describe('the Pruning page on software WebGPU', { tag: '@webgpu-on' }, () => {
  test('trains the MNIST MLP, prunes it with three methods and shows accuracy, loss increase and masks', async ({ page }, testInfo) => {
    test.setTimeout(150_000);
    await page.goto(
      '/#/pruning?task=mlp-mnist&model=train&steps=20&seed=2&methods=magnitude,woodfisher,kfac-obs&sparsity=0.5,0.8&examples=16',
    );
    await waitForBackend(page);
    expect(await page.evaluate(() => window.__lab!.lab.backend!.webgpu)).toBe(true);
    await expect(page.getByRole('link', { name: 'Pruning' })).toHaveAttribute('aria-current', 'page');
    expect(await page.evaluate(() => window.__pruning!.settings)).toMatchObject({
      task: 'mlp-mnist',
      steps: 20,
      methods: ['magnitude', 'woodfisher', 'kfac-obs'],
      sparsities: [0.5, 0.8],
    });
    await expect.poll(() => page.evaluate(() => window.__pruning!.chartsReady), { timeout: 60_000 }).toBe(true);
    await page.getByTestId('prune-run').click();
    await expect(page.getByTestId('prune-progress')).toBeVisible();
    await expect
      .poll(() => page.evaluate(() => window.__pruning!.job?.status ?? null), { timeout: 140_000 })
      .toMatch(/done|failed|cancelled/);
    expect(await page.evaluate(() => window.__pruning!.job?.error ?? null)).toBeNull();
    expect(await page.evaluate(() => window.__pruning!.job?.status)).toBe('done');

    const result = (await page.evaluate(() => window.__pruning!.result()))!;
    expect(result.device).toMatch(/webgpu/i);
    expect(result.baseline.testAccuracy).toBeGreaterThan(0.3);
    expect(result.runs).toHaveLength(6);
    for (const r of result.runs) {
      expect(r.total).toBe(196 * 64 + 64 * 64 + 64 * 10);
      // Global selection removes floor(s·n) of all weights.
      expect(r.total - r.kept, `${r.method} ${r.sparsity}`).toBe(Math.floor(r.sparsity * r.total));
      expect(r.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(r.testAccuracy).toBeLessThanOrEqual(1);
      if (r.method === 'magnitude') expect(r.predicted).toBeNull();
      else expect(r.predicted!, `${r.method} ${r.sparsity}`).toBeGreaterThan(0);
      expect(Number.isFinite(r.measured)).toBe(true);
    }

    // The figures hold the data: one trace per method on the accuracy chart, with both sparsities.
    await expect
      .poll(() => page.evaluate(() => window.__lab!.lab.chartPoints()['pruning-accuracy'] ?? null), { timeout: 20_000 })
      .toEqual([2, 2, 2]);
    await expect(page.locator('#pruning-loss .js-plotly-plot')).toBeVisible();
    // The MLP's first layer: one tile per hidden unit, and the pixel coverage.
    await expect(page.locator('#pruning-mask .js-plotly-plot')).toBeVisible();
    await expect(page.locator('#pruning-coverage .js-plotly-plot')).toBeVisible();
    await expect(page.locator('#pruning-mask')).toContainText('pixels each hidden unit still sees');
    await page
      .locator('#pruning-masks, [data-testid="pruning-masks"]')
      .first()
      .screenshot({ path: testInfo.outputPath('pruning-masks-first-layer.png') });
    await page.getByTestId('mask-layer').selectOption('1');
    await expect(page.locator('#pruning-coverage')).toHaveCount(0);
    await expect(page.locator('#pruning-mask')).toContainText('Mask of');

    const download = page.waitForEvent('download');
    await page.getByTestId('pruning-export').click();
    const file = await (await download).path();
    const exported = JSON.parse(readFileSync(file, 'utf8'));
    expect(exported.task).toBe('mlp-mnist');
    expect(exported.result.runs).toHaveLength(6);
    expect(exported.result.runs[0].layers[0].mask).toHaveLength(196 * 64);

    await page.getByTestId('pruning-result').scrollIntoViewIfNeeded();
    await page.screenshot({ path: testInfo.outputPath('pruning-page.png'), fullPage: true });
  });

  test('a bad link shows the defaults and says which setting was wrong', async ({ page }) => {
    await page.goto('/#/pruning?task=mlp-mnist&sparsity=0.5,2&methods=obs');
    await expect(page.getByTestId('pruning-url-errors')).toContainText('sparsity');
    await expect(page.getByTestId('pruning-url-errors')).toContainText('methods');
    expect(await page.evaluate(() => window.__pruning!.settings.sparsities)).toEqual([0.3, 0.5, 0.7, 0.8, 0.9, 0.95]);
  });
});
