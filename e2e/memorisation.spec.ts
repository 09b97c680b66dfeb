// The Memorisation page end to end on software WebGPU: it trains the modular-exceptions transformer
// for a few steps in the worker (progress bar), edits one layer at a small ρ grid with the K-FAC
// edit and both baselines, shows the four accuracies at the slider's ρ and follows the slider, and
// exports its results as JSON; the ρ grid comes from its text field (a bad list is refused).
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';

async function waitForBackend(page: Page): Promise<void> {
  await expect.poll(() => page.evaluate(() => window.__lab?.lab.backend?.device.backend ?? null), { timeout: 60_000 }).not.toBeNull();
}

test.describe('the Memorisation page on software WebGPU', { tag: '@webgpu-on' }, () => {
  test('trains the modular model in the worker, edits a layer, follows the ρ slider and exports JSON', async ({ page }, testInfo) => {
    test.setTimeout(150_000);
    await page.goto('/#/memorisation?experiment=modular-exceptions&model=train&steps=4&seed=1&layers=5&rho=1');
    await waitForBackend(page);
    expect(await page.evaluate(() => window.__lab!.lab.backend!.webgpu)).toBe(true);
    await expect(page.getByRole('link', { name: 'Memorisation' })).toHaveAttribute('aria-current', 'page');
    expect(await page.evaluate(() => window.__memorisation!.settings)).toMatchObject({
      experiment: 'modular-exceptions',
      steps: 4,
      layers: [5],
      rho: 1,
    });
    // The ρ grid from its text field: a bad list is refused with a message, a good one replaces the grid.
    await page.getByTestId('edit-rhos').fill('0.5, 2');
    await page.getByTestId('edit-rhos').press('Enter');
    await expect(page.getByRole('alert').filter({ hasText: 'numbers in (0, 1]' })).toBeVisible();
    await page.getByTestId('edit-rhos').fill('0.5');
    await page.getByTestId('edit-rhos').press('Enter');
    expect(await page.evaluate(() => window.__memorisation!.settings.rhos)).toEqual([0.5, 1]);

    await page.getByTestId('edit-run').click();
    await expect(page.getByTestId('edit-progress')).toBeVisible();
    await expect(page.getByTestId('edit-progress').getByRole('progressbar')).toBeVisible();
    await expect
      .poll(() => page.evaluate(() => window.__memorisation!.job?.status ?? null), { timeout: 140_000 })
      .toMatch(/done|failed|cancelled/);
    const job = (await page.evaluate(() => window.__memorisation!.job))!;
    expect(job).toMatchObject({ status: 'done', error: null });
    console.log(
      `memorisation e2e: the edit job (train, fit, 3 edits, 4 evaluations each) took ${((job.elapsedMs ?? 0) / 1000).toFixed(1)} s`,
    );

    const result = (await page.evaluate(() => window.__memorisation!.result()))!;
    expect(result.device).toMatch(/webgpu/i);
    expect(result.trainedCheckpoint).toBe(true);
    expect(result.layers.map((l) => l.name)).toEqual(['blocks.0.fc2']);
    expect(result.layers[0].energyShare.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(result.rows.map((r) => `${r.method}@${r.rho}`).sort()).toEqual([
      'kfac@0.5',
      'kfac@1',
      'rectangle@0.5',
      'rectangle@1',
      'svd@0.5',
      'svd@1',
    ]);
    for (const r of result.rows) {
      for (const v of [r.memorisedAccuracy, r.memorisedTrueLabelAccuracy, r.cleanTrainAccuracy, r.testAccuracy])
        expect(v >= 0 && v <= 1).toBe(true);
      if (r.rho === 1) expect(r.testAccuracy).toBe(result.baseline.testAccuracy);
    }
    const at = (method: string, rho: number) => result.rows.find((r) => r.method === method && r.rho === rho)!;
    expect(at('svd', 0.5).keptRank).toBe(at('kfac', 0.5).keptRank);
    expect(at('kfac', 0.5).keptRank).toBeLessThan(at('kfac', 1).keptRank);

    // The readout follows the slider: at ρ = 1 the unedited model, then the K-FAC edit at ρ = 0.5.
    const readout = (method: string, metric: string) => page.getByTestId(`readout-${method}`).locator(`td[data-metric="${metric}"]`);
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    await expect(page.getByTestId('edit-rho')).toHaveText('1');
    await expect(readout('kfac', 'testAccuracy')).toHaveText(pct(result.baseline.testAccuracy));
    const slider = page.getByTestId('edit-rho-slider');
    await slider.focus();
    await page.keyboard.press('Home');
    await expect(page.getByTestId('edit-rho')).toHaveText('0.5');
    await expect(readout('kfac', 'memorisedAccuracy')).toHaveText(pct(at('kfac', 0.5).memorisedAccuracy));
    await expect(readout('svd', 'testAccuracy')).toHaveText(pct(at('svd', 0.5).testAccuracy));
    expect(await page.evaluate(() => window.__memorisation!.settings.rho)).toBe(0.5);
    await expect(page).toHaveURL(/rho=0\.5/);
    await expect(page.locator('#edit-accuracy .js-plotly-plot')).toBeVisible();
    await expect(page.locator('#edit-pairs .js-plotly-plot')).toBeVisible();
    await expect(page.locator('#edit-spectrum .js-plotly-plot')).toBeVisible();
    await expect(page.getByTestId('edit-findings')).toContainText('Unedited');
    await expect(page.getByTestId('edit-checkpoint')).toContainText('trained on this page');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('edit-export').click()]);
    const file = testInfo.outputPath('edit.json');
    await download.saveAs(file);
    const exported = JSON.parse(readFileSync(file, 'utf8')) as { experiment: string; sweep: { rows: unknown[] }; checkpoint?: unknown };
    expect(exported.experiment).toBe('modular-exceptions');
    expect(exported.sweep.rows).toHaveLength(6);
    expect(exported.checkpoint).toBeUndefined();

    await page.getByTestId('edit-result').scrollIntoViewIfNeeded();
    await page.screenshot({ path: testInfo.outputPath('memorisation-page.png'), fullPage: true });
  });
});
