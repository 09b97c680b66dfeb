// The Influence page's diffusion section end to end (software WebGPU): train the small denoiser in
// the worker, generate samples, colour the training points by influence on the chosen sample under
// each method, and export the JSON; the numbers are read through window.__lab.diffusion.
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';

async function waitForBackend(page: Page): Promise<void> {
  await expect.poll(() => page.evaluate(() => window.__lab?.lab.backend?.device.backend ?? null), { timeout: 60_000 }).not.toBeNull();
}

test.describe('the diffusion section of the Influence page', { tag: '@webgpu-on' }, () => {
  test('trains the 2-D denoiser, attributes samples with identity, K-FAC and EK-FAC, and exports JSON', async ({ page }) => {
    test.setTimeout(120_000);
    await page.goto('/#/influence');
    await waitForBackend(page);
    await expect(page.getByTestId('diffusion-section')).toBeVisible();
    // Small settings so the section's whole pipeline runs in seconds on SwiftShader.
    await page.getByTestId('diffusion-points').fill('64');
    await page.getByTestId('diffusion-steps').fill('20');
    await page.getByTestId('diffusion-queries').fill('2');
    await page.getByTestId('diffusion-draws').fill('4');
    expect(await page.evaluate(() => window.__lab!.diffusion.settings)).toMatchObject({
      points: 64,
      trainSteps: 20,
      queries: 2,
      trainDraws: 4,
    });

    await page.getByTestId('diffusion-run').click();
    await expect(page.getByTestId('diffusion-progress')).toBeVisible();
    await expect(page.getByRole('progressbar', { name: 'Diffusion model progress' })).toBeVisible();
    await expect
      .poll(() => page.evaluate(() => window.__lab!.diffusion.job?.status ?? null), { timeout: 100_000 })
      .toMatch(/done|failed|cancelled/);
    expect(await page.evaluate(() => window.__lab!.diffusion.job?.error ?? null)).toBeNull();
    expect(await page.evaluate(() => window.__lab!.diffusion.job?.status)).toBe('done');

    const result = (await page.evaluate(() => window.__lab!.diffusion.result()))!;
    expect(result.device).toMatch(/webgpu/i);
    expect(result).toMatchObject({ points: 64, samples: 256, queries: 2, trained: true });
    expect(result.finalLoss).not.toBeNull();
    expect(result.methods.map((m) => m.method)).toEqual(['identity', 'kfac', 'ekfac']);
    for (const m of result.methods) {
      expect(m.scores, m.method).toBe(2 * 64);
      expect(m.finite, m.method).toBe(true);
      expect(m.topHelpful, m.method).toHaveLength(5);
    }

    // The scatter holds the generated samples, the 64 training points, the 2 scored samples and the chosen one.
    await expect
      .poll(() => page.evaluate(() => window.__lab!.lab.chartPoints()['diffusion-scatter'] ?? []), { timeout: 30_000 })
      .toEqual([256, 64, 2, 1]);
    await page.getByTestId('diffusion-method-identity').check();
    expect(await page.evaluate(() => window.__lab!.diffusion.method)).toBe('identity');
    await page.getByTestId('diffusion-query').selectOption('1');
    expect(await page.evaluate(() => window.__lab!.diffusion.query)).toBe(1);
    await expect(page.getByTestId('diffusion-helpful').locator('tbody tr')).toHaveCount(8);
    await expect(page.getByTestId('diffusion-harmful').locator('tbody tr')).toHaveCount(8);
    await expect(page.getByTestId('diffusion-agreement')).toContainText('K-FAC vs EK-FAC');

    const download = page.waitForEvent('download');
    await page.getByTestId('diffusion-export').click();
    const file = await (await download).path();
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    expect(doc.points).toHaveLength(64);
    expect(doc.methods).toHaveLength(3);
    expect(doc.methods[2].scores).toHaveLength(2);
    expect(doc.methods[2].scores[0]).toHaveLength(64);

    // Sampling again with the same weights skips training.
    await expect(page.getByTestId('diffusion-run')).toHaveText('Sample and attribute again');
  });
});
