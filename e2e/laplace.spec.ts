// The Laplace page end to end on software WebGPU: a short marglik training of the CNN with
// K-FAC-expand and K-FAC-reduce Laplace fits (the worker's 'marglik' job), live log marglik and δ per
// epoch for both flavours, then the test metrics of MAP and the Laplace predictive and the JSON export;
// a bad link falls back to the defaults with a message.
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';

async function waitForBackend(page: Page): Promise<void> {
  await expect.poll(() => page.evaluate(() => window.__lab?.lab.backend?.device.backend ?? null), { timeout: 60_000 }).not.toBeNull();
}

test.describe('the Laplace page on software WebGPU', { tag: '@webgpu-on' }, () => {
  test('runs a short marglik training with expand and reduce and shows both, then MAP vs Laplace on test data', async ({
    page,
  }, testInfo) => {
    test.setTimeout(150_000);
    await page.goto('/#/laplace?task=cnn-mnist&epochs=2&train=128&test=64&k=5&f=1&seed=0&grid=0&scaling=0');
    await waitForBackend(page);
    expect(await page.evaluate(() => window.__lab!.lab.backend!.webgpu)).toBe(true);
    await expect(page.getByRole('link', { name: 'Laplace' })).toHaveAttribute('aria-current', 'page');
    await expect
      .poll(() => page.evaluate(() => window.__lab!.laplace?.settings ?? null))
      .toMatchObject({
        task: 'cnn-mnist',
        epochs: 2,
        trainExamples: 128,
        testExamples: 64,
        hyperSteps: 5,
        grid: false,
      });
    await page.getByTestId('laplace-run').click();
    await expect(page.getByTestId('laplace-progress').getByRole('progressbar')).toBeVisible();
    await expect.poll(() => page.evaluate(() => window.__lab!.laplace!.status), { timeout: 140_000 }).toMatch(/done|failed|cancelled/);
    expect(await page.evaluate(() => window.__lab!.laplace!.messages)).toEqual([]);
    expect(await page.evaluate(() => window.__lab!.laplace!.status)).toBe('done');

    const fits = await page.evaluate(() => window.__lab!.laplace!.fits);
    for (const flavour of ['expand', 'reduce'] as const) {
      expect(fits[flavour].map((f) => f.epoch)).toEqual([1, 2]);
      for (const f of fits[flavour]) {
        expect(Number.isFinite(f.logMarglik)).toBe(true);
        expect(f.fitMs).toBeGreaterThan(0);
        expect(f.precision).toHaveLength(4); // conv1, conv2, fc1, fc2
        for (const d of f.precision) expect(d).toBeGreaterThan(0);
      }
    }
    const result = (await page.evaluate(() => window.__lab!.laplace!.result()))!;
    expect(result.device).toMatch(/webgpu/i);
    expect(result.runs.map((r) => r.approx)).toEqual(['expand', 'reduce']);
    for (const r of result.runs) {
      expect(r.test.map.examples).toBe(64);
      for (const m of [r.test.map, r.test.laplace]) {
        expect(m.accuracy).toBeGreaterThanOrEqual(0);
        expect(m.accuracy).toBeLessThanOrEqual(1);
        expect(Number.isFinite(m.nll) && m.nll > 0).toBe(true);
        expect(m.ece).toBeGreaterThanOrEqual(0);
      }
      // The Laplace predictive keeps the MAP's argmax up to ties of the scaled logits: accuracies stay close.
      expect(Math.abs(r.test.laplace.accuracy - r.test.map.accuracy)).toBeLessThanOrEqual(0.1);
    }
    for (const id of ['laplace-marglik', 'laplace-precision', 'laplace-fit-time', 'laplace-reliability'])
      await expect(page.locator(`#${id} .js-plotly-plot`)).toBeVisible();
    await expect(page.getByTestId('laplace-metrics').getByRole('row')).toHaveCount(5);
    const download = page.waitForEvent('download');
    await page.getByTestId('laplace-export').click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/^kfac-lab-laplace-cnn-mnist-.*\.json$/);
    const saved = JSON.parse(await (await import('node:fs/promises')).readFile((await file.path())!, 'utf8'));
    expect(saved.runs).toHaveLength(2);
    expect(saved.settings.epochs).toBe(2);
    await page.getByTestId('laplace-results').scrollIntoViewIfNeeded();
    await page.screenshot({ path: testInfo.outputPath('laplace-page.png'), fullPage: true });
  });

  test('a bad link falls back to the defaults with a message', async ({ page }) => {
    await page.goto('/#/laplace?task=nope&epochs=-3');
    await expect.poll(() => page.evaluate(() => window.__lab?.laplace?.urlErrors.length ?? 0), { timeout: 60_000 }).toBe(2);
    expect(await page.evaluate(() => window.__lab!.laplace!.settings)).toMatchObject({ task: 'cnn-mnist', epochs: 5 });
    await expect(page.getByTestId('laplace-url-errors')).toBeVisible();
  });
});
