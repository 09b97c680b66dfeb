// The Curvature page end to end: it trains a tiny ViT in the worker (software WebGPU), renders its
// spectra and factors, and the page stays responsive meanwhile; the race hands a run's model over
// ("analyse this model") and the small MLP's layers get the exact GGN block; a bad link falls back
// to the defaults with a message, and an unknown page to the race.
import { writeFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import type { ExperimentConfig } from '../src/engine/lab/experiment-config.ts';
import { expect, test } from './fixtures.ts';

/** As in lab.spec.ts: the goal is no task over 100 ms; the test fails only past this (see there). */
const LONG_TASK_LIMIT_MS = 600;

async function waitForBackend(page: Page): Promise<void> {
  await expect.poll(() => page.evaluate(() => window.__lab?.lab.backend?.device.backend ?? null), { timeout: 60_000 }).not.toBeNull();
}

async function analysisStatus(page: Page): Promise<string | null> {
  return page.evaluate(() => window.__lab!.curvature.analysis?.status ?? null);
}

test.describe('the Curvature page on software WebGPU', { tag: '@webgpu-on' }, () => {
  test('trains a tiny ViT in the worker and shows its spectra and factors, without stalling the page', async ({ page }, testInfo) => {
    test.setTimeout(180_000);
    await page.goto('/#/curvature?task=vit-mnist&model=train&steps=4&examples=32&exact=0');
    await waitForBackend(page);
    expect(await page.evaluate(() => window.__lab!.lab.backend!.webgpu)).toBe(true);
    await expect(page.getByRole('link', { name: 'Curvature' })).toHaveAttribute('aria-current', 'page');
    expect(await page.evaluate(() => window.__lab!.curvature.settings)).toMatchObject({
      task: 'vit-mnist',
      model: 'train',
      steps: 4,
      examples: 32,
    });

    // Opening the page parses the chart library once (seconds on a loaded 2-core VM, as on the race's
    // page); the measurement below is of the jobs, so it starts after that.
    await expect.poll(() => page.evaluate(() => window.__lab!.curvature.chartsReady), { timeout: 60_000 }).toBe(true);
    await page.getByTestId('analyse').click();
    await expect(page.getByTestId('train-progress')).toBeVisible();
    await expect.poll(() => analysisStatus(page), { timeout: 170_000 }).toMatch(/done|failed|cancelled/);
    const ended = await page.evaluate(() => performance.now());
    expect(await analysisStatus(page)).toBe('done');
    expect(await page.evaluate(() => window.__lab!.curvature.training?.status)).toBe('done');

    const report = (await page.evaluate(() => window.__lab!.curvature.report()))!;
    expect(report.examples).toBe(32);
    expect(report.device).toMatch(/webgpu/i);
    expect(report.layers.length).toBeGreaterThan(3);
    for (const layer of report.layers) {
      for (const n of [layer.spectra.expandKfac, layer.spectra.expandEkfac, layer.spectra.reduceKfac, layer.spectra.reduceEkfac])
        expect(n, layer.name).toBeGreaterThan(0);
      for (const top of [layer.topEigenvalue.expandKfac, layer.topEigenvalue.reduceKfac]) {
        expect(Number.isFinite(top) && top! > 0, `${layer.name}: top eigenvalue ${top}`).toBe(true);
      }
    }
    expect(report.timings.expandFactorsMs).toBeGreaterThan(0);
    expect(report.timings.reduceFactorsMs).toBeGreaterThan(0);

    // The figures hold the data: two spectra (K-FAC and EK-FAC traces with points) and four heatmaps.
    await expect
      .poll(() => page.evaluate(() => window.__lab!.lab.chartPoints()), { timeout: 20_000 })
      .toMatchObject({
        'curvature-expand-spectrum': [expect.any(Number), expect.any(Number)],
        'curvature-reduce-spectrum': [expect.any(Number), expect.any(Number)],
      });
    const points = await page.evaluate(() => window.__lab!.lab.chartPoints());
    for (const id of ['curvature-expand-spectrum', 'curvature-reduce-spectrum'])
      for (const n of points[id]) expect(n, id).toBeGreaterThan(0);
    for (const id of ['curvature-expand-a', 'curvature-expand-g', 'curvature-reduce-a', 'curvature-reduce-g'])
      await expect(page.locator(`#${id} .js-plotly-plot`)).toBeVisible();
    await expect(page.getByTestId('factor-times')).toContainText('expand');
    await expect(page.getByTestId('layer-table').getByRole('row')).toHaveCount(report.layers.length + 1);

    // Main-thread long tasks while the two jobs ran (the worker computes; the page only shows progress),
    // and separately while the report's six figures were drawn afterwards.
    const window_ = await page.evaluate(() => ({
      from: window.__lab!.curvature.training!.startedAt,
      to: window.__lab!.curvature.analysis!.endedAt!,
    }));
    const all = await page.evaluate(() => window.__lab!.lab.longTasks());
    const during = all.filter((t) => t.start >= window_.from && t.start <= window_.to);
    const drawing = all.filter((t) => t.start > window_.to && t.start <= ended + 5000);
    const figures = (tasks: { duration: number }[]) => ({
      longTasks: tasks.length,
      over100ms: tasks.filter((t) => t.duration > 100).length,
      longestMs: Math.round(Math.max(0, ...tasks.map((t) => t.duration))),
    });
    const summary = { jobSeconds: (window_.to - window_.from) / 1000, whileJobsRan: figures(during), drawingTheReport: figures(drawing) };
    console.log(`main-thread long tasks, Curvature page with a ViT: ${JSON.stringify(summary)}`);
    writeFileSync(testInfo.outputPath('curvature-long-tasks.json'), JSON.stringify({ summary, during, drawing }, null, 2));
    expect(summary.whileJobsRan.longestMs, 'longest main-thread task while the jobs ran').toBeLessThanOrEqual(LONG_TASK_LIMIT_MS);
    expect(summary.drawingTheReport.longestMs, 'longest main-thread task while the report was drawn').toBeLessThanOrEqual(
      LONG_TASK_LIMIT_MS,
    );

    await page.getByTestId('curvature-report').scrollIntoViewIfNeeded();
    await page.screenshot({ path: testInfo.outputPath('curvature-page.png'), fullPage: true });
  });

  test('"analyse this model" hands a race run to the page; the small MLP gets the exact block and the fits', async ({ page }) => {
    test.setTimeout(120_000);
    await page.goto('/');
    await waitForBackend(page);
    const config: ExperimentConfig = {
      task: 'mlp-spirals',
      batchSize: 32,
      steps: 15,
      seed: 1,
      evalInterval: 15,
      target: null,
      optimizers: [
        { id: 'sgd', label: 'SGD', hyper: { lr: 0.3, momentum: 0.9 } },
        { id: 'kfac-expand', label: 'K-FAC-expand', hyper: { lr: 0.1, damping: 0.01 } },
      ],
    };
    await page.evaluate((c) => window.__lab!.lab.setConfig(c), config);
    await page.getByTestId('start').click();
    await expect.poll(() => page.evaluate(() => window.__lab!.lab.status), { timeout: 60_000 }).toBe('done');
    await page.getByTestId('analyse-run-1').click();
    await expect.poll(() => page.evaluate(() => window.__lab!.page)).toBe('curvature');
    await expect(page.getByTestId('current-checkpoint')).toContainText('15 steps of K-FAC-expand');
    expect(await page.evaluate(() => window.__lab!.curvature.settings)).toMatchObject({ task: 'mlp-spirals', model: 'checkpoint' });

    await page.getByTestId('curvature-examples').fill('64');
    await page.getByTestId('analyse').click();
    await expect.poll(() => analysisStatus(page), { timeout: 90_000 }).toBe('done');
    const report = (await page.evaluate(() => window.__lab!.curvature.report()))!;
    expect(report.examples).toBe(64);
    for (const layer of report.layers) {
      expect(layer.spectra.exact, layer.name).toBe(layer.params);
      for (const fit of [layer.fit.expand!, layer.fit.reduce!]) {
        expect(fit.kfac).toBeGreaterThanOrEqual(0);
        expect(fit.ekfac).toBeLessThanOrEqual(fit.kfac + 1e-6);
      }
    }
    await expect(page.getByTestId('fit-expand')).toContainText('Relative Frobenius error');
    await expect.poll(() => page.evaluate(() => window.__lab!.lab.chartPoints()['curvature-expand-spectrum']?.length ?? 0)).toBe(3);

    // The model can be kept in this browser and downloaded as a checkpoint file.
    await page.getByTestId('keep-checkpoint').click();
    await expect(page.getByTestId('stored-checkpoints').getByRole('listitem')).toHaveCount(1);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-checkpoint').click()]);
    expect(download.suggestedFilename()).toMatch(/^kfac-lab-mlp-spirals-step15-.*\.kfacckpt$/);
  });

  test('a bad link falls back to the defaults with a message; an unknown page to the race', async ({ page }) => {
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs++;
      void d.dismiss();
    });
    await page.goto('/#/curvature?task=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&steps=-3&examples=1e9&__proto__=1');
    await waitForBackend(page);
    const errors = await page.evaluate(() => window.__lab!.curvature.urlErrors);
    expect(errors.length).toBeGreaterThan(3);
    await expect(page.getByTestId('curvature-messages')).toContainText('invalid curvature settings');
    await expect(page.getByTestId('curvature-url-errors')).toContainText('task: expected one of');
    expect(await page.evaluate(() => window.__lab!.curvature.settings)).toMatchObject({
      task: 'vit-mnist',
      model: 'train',
      steps: 50,
      examples: 256,
    });
    // The address now holds the settings shown.
    expect(await page.evaluate(() => window.location.hash)).toBe(
      '#/curvature?task=vit-mnist&model=train&steps=50&seed=1&examples=256&fisher=type-2&exact=1500&layer=0',
    );
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    await expect(page.getByTestId('analyse')).toBeEnabled();

    await page.goto('/#/nowhere');
    await expect(page.getByTestId('route-error')).toContainText('There is no page "nowhere"');
    await expect(page.getByTestId('start')).toBeVisible();
    expect(dialogs).toBe(0);
  });
});
