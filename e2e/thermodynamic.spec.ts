// The Thermodynamic page end to end on software WebGPU: a short race of Adam, digital K-FAC and
// thermodynamic K-FAC on the spirals MLP in the worker, the device's error grid on the model's own
// factors, the cost model at two widths; the charts hold data, the progress bar finishes, the JSON
// export downloads, and a bad link shows a message and the defaults.
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';

async function waitForBackend(page: Page): Promise<void> {
  await expect.poll(() => page.evaluate(() => window.__lab?.lab.backend?.device.backend ?? null), { timeout: 60_000 }).not.toBeNull();
}

test.describe('the Thermodynamic page on software WebGPU', { tag: '@webgpu-on' }, () => {
  test('races digital and thermodynamic K-FAC and Adam in the worker and shows the error grid and the cost model', async ({ page }) => {
    test.setTimeout(120_000);
    await page.goto(
      '/#/thermodynamic?task=mlp-spirals&steps=10&eval=5&seed=1&device=8x200&widths=8,16&widthSteps=2&errS=10,100,1000&errB=8,0',
    );
    await waitForBackend(page);
    expect(await page.evaluate(() => window.__lab!.lab.backend!.webgpu)).toBe(true);
    await expect(page.getByRole('link', { name: 'Thermodynamic' })).toHaveAttribute('aria-current', 'page');
    await expect.poll(() => page.evaluate(() => window.__thermo?.state.chartsReady ?? false), { timeout: 60_000 }).toBe(true);
    expect(await page.evaluate(() => window.__thermo!.state.settings)).toMatchObject({
      task: 'mlp-spirals',
      steps: 10,
      device: [{ bits: 8, samples: 200 }],
    });
    await expect(page.getByTestId('thermo-device')).toHaveValue('8x200');

    await page.getByTestId('thermo-run').click();
    await expect(page.getByTestId('thermo-progress').getByRole('progressbar')).toBeVisible();
    await expect
      .poll(() => page.evaluate(() => window.__thermo!.state.job?.status ?? null), { timeout: 110_000 })
      .toMatch(/done|failed|cancelled/);
    expect(await page.evaluate(() => window.__thermo!.state.job?.error ?? null)).toBeNull();
    expect(await page.evaluate(() => window.__thermo!.state.job?.status)).toBe('done');

    const result = (await page.evaluate(() => window.__thermo!.state.result))!;
    expect(result.device).toMatch(/webgpu/i);
    expect(result.race.runs.map((r) => r.optimizer)).toEqual(['adam', 'kfac', 'kfac-thermodynamic']);
    for (const r of result.race.runs) {
      expect(r.error, r.label).toBeNull();
      expect(r.losses).toHaveLength(10);
      expect(r.losses.every(Number.isFinite), r.label).toBe(true);
      expect(r.evalSteps).toEqual([5, 10]);
    }
    // The device's error grid: finite, and more samples give a smaller error at every precision.
    expect(result.errors.samples).toEqual([10, 100, 1000]);
    expect(result.errors.bits).toEqual([8, 0]);
    for (const row of result.errors.errors) {
      expect(row.every((e) => Number.isFinite(e) && e > 0)).toBe(true);
      expect(row[2]).toBeLessThan(row[0]);
    }
    expect(result.cost.map((w) => w.width)).toEqual([8, 16]);
    for (const w of result.cost) for (const f of w.factors) expect(f.condition, `${f.layer} ${f.factor}`).toBeGreaterThanOrEqual(1);

    await expect
      .poll(() => page.evaluate(() => window.__lab!.lab.chartPoints()), { timeout: 20_000 })
      .toMatchObject({
        'thermo-loss': [10, 10, 10],
        'thermo-accuracy': [2, 2, 2],
        'thermo-cost': [expect.any(Number), expect.any(Number)],
      });
    await expect(page.getByTestId('thermo-race-table').getByRole('row')).toHaveCount(4);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('thermo-export').click()]);
    expect(download.suggestedFilename()).toBe('kfac-lab-thermodynamic-mlp-spirals-seed1.json');
    const exported = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    expect(exported.result.race.runs).toHaveLength(3);
    expect(exported.settings.task).toBe('mlp-spirals');
  });

  test('a bad link shows a message and the defaults', async ({ page }) => {
    await page.goto('/#/thermodynamic?task=nope&device=8xlots');
    await expect(page.getByTestId('thermo-url-errors')).toContainText('device');
    await expect(page.getByTestId('thermo-url-errors')).toContainText('task');
    expect(await page.evaluate(() => window.__thermo!.state.settings.task)).toBe('mlp-mnist');
  });
});
