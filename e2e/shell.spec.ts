// The page's diagnostics: WebGPU status, its failure cases, and the matmul self-check on both backends.
import { expect, gotoDiagnostics, labState, test, waitForSelfCheck, waitForStatus } from './fixtures.ts';

test.describe('with software WebGPU', { tag: '@webgpu-on' }, () => {
  test('loads with its title, headings and description', async ({ page }) => {
    await gotoDiagnostics(page);
    await expect(page).toHaveTitle('kfac-lab');
    await expect(page.getByRole('heading', { level: 1, name: 'kfac-lab' })).toBeVisible();
    await expect(page.getByRole('heading', { level: 2, name: 'WebGPU status' })).toBeVisible();
    await expect(page.getByRole('heading', { level: 2, name: 'Self-check' })).toBeVisible();
    await expect(page.getByText(/K-FAC-expand and K-FAC-reduce/)).toBeVisible();
    await expect(page.getByTestId('live-status')).toHaveAttribute('aria-live', 'polite');
    // Let the self-check finish too, so console errors from it are caught here.
    await waitForSelfCheck(page);
  });

  test('shows the SwiftShader adapter and its limits', async ({ page }) => {
    await gotoDiagnostics(page);
    const state = await waitForStatus(page);
    expect(state.status).toBe('webgpu');
    if (state.gpu.state !== 'webgpu') throw new Error('unreachable');
    console.log(`adapter: ${state.gpu.summary}`);
    expect(`${state.gpu.adapter.vendor} ${state.gpu.adapter.architecture}`).toMatch(/swiftshader/i);
    expect(state.gpu.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);

    const panel = page.getByTestId('gpu-status');
    await expect(panel).toHaveAttribute('data-state', 'webgpu');
    await expect(panel.getByText('WebGPU is available')).toBeVisible();
    await expect(panel.getByText('swiftshader').first()).toBeVisible();
    await expect(panel.getByTestId('fallback-adapter')).toHaveText(state.gpu.adapter.isFallbackAdapter ? 'yes' : 'no');
    const limits = page.getByRole('region', { name: 'Device limits' }).getByRole('table');
    await expect(limits.getByRole('rowheader', { name: 'maxStorageBufferBindingSize' })).toBeVisible();
    await expect(limits.getByRole('row')).toHaveCount(Object.keys(state.gpu.limits).length + 1);
    await waitForSelfCheck(page);
  });

  test('the self-check passes on the CPU and WebGPU backends', async ({ page }) => {
    await gotoDiagnostics(page);
    const { selfCheck, gpuErrors } = await waitForSelfCheck(page);
    for (const c of selfCheck.cases) {
      console.log(
        `${c.label}: cpu ${c.cpu.relError?.toExponential(1) ?? c.cpu.error}, webgpu ${c.webgpu?.relError?.toExponential(1) ?? c.webgpu?.error}` +
          ` (${c.webgpu?.firstMs?.toFixed(0)} / ${c.webgpu?.repeatMs?.toFixed(1)} ms)`,
      );
    }
    expect(selfCheck.backends).toEqual(['cpu', 'webgpu']);
    expect(selfCheck.cases).toHaveLength(selfCheck.total);
    for (const c of selfCheck.cases) {
      expect(c.cpu.error, `${c.label} on the CPU`).toBeUndefined();
      expect(c.webgpu?.error, `${c.label} on WebGPU`).toBeUndefined();
      expect(c.cpu.relError).toBeLessThan(1e-5);
      expect(c.webgpu!.relError).toBeLessThan(1e-4);
      expect(c.gpuVsCpu!.relError).toBeLessThan(1e-4);
      expect(c.pass).toBe(true);
    }
    expect(selfCheck.passed).toBe(true);
    expect(gpuErrors.count).toBe(0);
    await expect(page.getByTestId('selfcheck-summary')).toContainText('Self-check passed');
  });

  test('"Run self-check" reruns it from the keyboard', async ({ page }) => {
    await gotoDiagnostics(page);
    const first = await waitForSelfCheck(page);
    const button = page.getByRole('button', { name: 'Run self-check' });
    await button.focus();
    await page.keyboard.press('Enter');
    const { selfCheck } = await waitForSelfCheck(page, first.selfCheck.run + 1);
    expect(selfCheck.cases).toHaveLength(selfCheck.total);
    // aria-disabled rather than disabled while running, so keyboard focus stays on the button.
    await expect(button).toBeFocused();
    await expect(button).toHaveAttribute('aria-disabled', 'false');
  });

  test('a lost device is reported, the CPU carries on, and WebGPU can be retried', async ({ page }) => {
    await gotoDiagnostics(page);
    await waitForSelfCheck(page);
    expect(await page.evaluate(() => window.__lab!.simulateDeviceLoss())).toBe(true);
    await expect.poll(async () => (await labState(page)).status).toBe('device-lost');
    const panel = page.getByTestId('gpu-status');
    await expect(panel.getByRole('heading', { name: 'The WebGPU device was lost' })).toBeVisible();
    await expect(page.getByTestId('cpu-fallback-note')).toContainText('CPU backend');
    await expect(page.getByTestId('live-status')).toContainText('device was lost');

    const before = (await labState(page)).selfCheck.run;
    await page.getByRole('button', { name: 'Run self-check' }).click();
    const afterLoss = await waitForSelfCheck(page, before + 1);
    expect(afterLoss.selfCheck.backends).toEqual(['cpu']);

    await page.getByRole('button', { name: 'Try WebGPU again' }).click();
    await expect.poll(async () => (await labState(page)).status, { timeout: 30_000 }).toBe('webgpu');
    // A successful retry reruns the self-check on both backends.
    const retried = await waitForSelfCheck(page, before + 2);
    expect(retried.selfCheck.backends).toEqual(['cpu', 'webgpu']);
    expect(retried.selfCheck.passed).toBe(true);
  });

  test('fits a narrow screen', async ({ page }) => {
    await page.setViewportSize({ width: 360, height: 740 });
    await gotoDiagnostics(page);
    await waitForSelfCheck(page);
    // Wide tables scroll inside their own region; the page itself never scrolls sideways.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    // Touch-sized and within the screen.
    const box = await page.getByRole('button', { name: 'Run self-check' }).boundingBox();
    expect(box!.height).toBeGreaterThanOrEqual(44);
    expect(box!.x + box!.width).toBeLessThanOrEqual(360);
  });
});

test.describe('without WebGPU', { tag: '@webgpu-off' }, () => {
  test('no adapter: explains why, falls back to the CPU, and the CPU self-check runs', async ({ page }) => {
    await gotoDiagnostics(page);
    const state = await waitForStatus(page);
    expect(state.status).toBe('cpu-fallback');
    expect(state.gpu.state === 'cpu-fallback' && state.gpu.kind).toBe('no-adapter');
    const panel = page.getByTestId('gpu-status');
    await expect(panel.getByRole('heading', { name: /offered no GPU adapter/ })).toBeVisible();
    await expect(panel.getByRole('heading', { name: 'What to do' })).toBeVisible();
    await expect(page.getByTestId('cpu-fallback-note')).toContainText('CPU backend');
    await expect(panel.getByRole('button', { name: 'Try WebGPU again' })).toBeVisible();

    const { selfCheck } = await waitForSelfCheck(page);
    expect(selfCheck.backends).toEqual(['cpu']);
    expect(selfCheck.cases).toHaveLength(selfCheck.total);
    for (const c of selfCheck.cases) {
      expect(c.webgpu).toBeNull();
      expect(c.cpu.error, `${c.label} on the CPU`).toBeUndefined();
      expect(c.cpu.relError).toBeLessThan(1e-5);
    }
    expect(selfCheck.passed).toBe(true);
    await expect(page.getByTestId('selfcheck-summary')).toContainText('CPU backend only');
  });

  test('no navigator.gpu: says the browser lacks WebGPU', async ({ page }) => {
    await page.addInitScript(() => {
      delete (Navigator.prototype as { gpu?: unknown }).gpu;
    });
    await gotoDiagnostics(page);
    const state = await waitForStatus(page);
    expect(state.gpu.state === 'cpu-fallback' && state.gpu.kind).toBe('no-navigator-gpu');
    await expect(page.getByTestId('gpu-status').getByRole('heading', { name: /navigator\.gpu is missing/ })).toBeVisible();
    await expect(page.getByTestId('cpu-fallback-note')).toBeVisible();
    await waitForSelfCheck(page);
  });
});
