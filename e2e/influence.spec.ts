// The Influence page end to end on software WebGPU: it trains a small MNIST MLP in the worker, scores
// the training images on a chosen test image and shows the most helpful and harmful ones under each
// method; a tiny LDS evaluation runs with its progress bar and plots; a bad link falls back with a
// message naming the field.
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';

async function waitForBackend(page: Page): Promise<void> {
  await expect.poll(() => page.evaluate(() => window.__lab?.lab.backend?.device.backend ?? null), { timeout: 60_000 }).not.toBeNull();
}

test.describe('the Influence page on software WebGPU', { tag: '@webgpu-on' }, () => {
  test('trains an MLP, shows the top influences of a test image per method, and runs a small LDS', async ({ page }) => {
    test.setTimeout(150_000);
    await page.goto('/#/influence?task=mlp-mnist&steps=10&examples=48&query=3&subsets=3&seeds=2&ldsQueries=2');
    await waitForBackend(page);
    expect(await page.evaluate(() => window.__lab!.lab.backend!.webgpu)).toBe(true);
    await expect(page.getByRole('link', { name: 'Influence' })).toHaveAttribute('aria-current', 'page');
    await expect.poll(() => page.evaluate(() => window.__lab!.influence?.galleryCount ?? 0), { timeout: 60_000 }).toBe(24);
    expect(await page.evaluate(() => window.__lab!.influence!.query)).toEqual({ kind: 'test', index: 3 });

    await page.getByTestId('influence-run').click();
    await expect(page.getByTestId('influence-progress')).toBeVisible();
    await expect
      .poll(() => page.evaluate(() => window.__lab!.influence!.scoresJob?.status ?? null), { timeout: 120_000 })
      .toMatch(/done|failed|cancelled/);
    expect(await page.evaluate(() => window.__lab!.influence!.scoresJob?.status)).toBe('done');
    const r = (await page.evaluate(() => window.__lab!.influence!.scores()))!;
    expect(r.query).toMatchObject({ kind: 'test', index: 3 });
    expect(r.examples).toBe(48);
    expect(r.methods.map((m) => m.method)).toEqual(['identity', 'kfac', 'ekfac']);
    for (const m of r.methods) {
      expect(m.scoreCount).toBe(48);
      expect(m.helpful).toHaveLength(8);
      expect(m.helpful[0].score).toBeGreaterThanOrEqual(m.helpful[7].score);
      expect(m.harmful[0].score).toBeLessThanOrEqual(m.harmful[7].score);
      for (const x of [...m.helpful, ...m.harmful]) expect(Number.isFinite(x.score)).toBe(true);
      // The images are on the page, with their scores.
      await expect(page.getByTestId(`influence-${m.method}-helpful`).locator('canvas')).toHaveCount(8);
      await expect(page.getByTestId(`influence-${m.method}-harmful`).locator('canvas')).toHaveCount(8);
    }
    expect(await page.evaluate(() => window.__lab!.influence!.hasModel)).toBe(true);

    // The LDS panel: 3 half subsets × 2 seeds of 10 steps, 2 queries.
    await page.getByTestId('influence-lds-run').click();
    await expect(page.getByTestId('influence-lds-progress')).toBeVisible();
    await expect
      .poll(() => page.evaluate(() => window.__lab!.influence!.ldsJob?.status ?? null), { timeout: 120_000 })
      .toMatch(/done|failed|cancelled/);
    expect(await page.evaluate(() => window.__lab!.influence!.ldsJob?.status)).toBe('done');
    const lds = (await page.evaluate(() => window.__lab!.influence!.lds()))!;
    expect(lds).toMatchObject({ subsets: 3, seeds: 2 });
    for (const m of lds.methods) expect(m.mean).toBeGreaterThanOrEqual(-1);
    expect(lds.ceiling).not.toBeNull();
    await expect.poll(() => page.evaluate(() => window.__lab!.lab.chartPoints()['influence-lds-figure']), { timeout: 20_000 }).toEqual([3]);
    const download = page.waitForEvent('download');
    await page.getByTestId('influence-export').click();
    expect((await download).suggestedFilename()).toBe('influence-mlp-mnist.json');
  });

  test('a bad link falls back to the defaults and names the field', async ({ page }) => {
    await page.goto('/#/influence?task=vit-mnist&examples=2');
    await expect.poll(() => page.evaluate(() => window.__lab?.influence?.urlErrors.length ?? 0), { timeout: 60_000 }).toBe(2);
    await expect(page.getByTestId('influence-url-errors')).toContainText('task must be one of mlp-mnist, cnn-mnist');
    expect(await page.evaluate(() => window.__lab!.influence!.settings.task)).toBe('mlp-mnist');
  });
});
