// The lab's backend choice from the banner: without WebGPU the worker starts on the fast CPU
// (WebAssembly) backend; the banner offers the reference CPU and back, each reported as chosen.
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';

async function backendOf(page: Page) {
  return page.evaluate(() => window.__lab!.lab.backend);
}

test.describe('choosing the CPU backend', { tag: '@webgpu-off' }, () => {
  test('the banner switches between the fast CPU (WebAssembly) and the reference CPU', async ({ page }) => {
    await page.goto('/');
    await expect.poll(async () => (await backendOf(page))?.device.backend, { timeout: 60_000 }).toBe('wasm');
    const banner = page.getByTestId('backend-banner');
    await expect(banner).toContainText('fast CPU (WebAssembly SIMD)');

    await banner.getByRole('button', { name: 'Use the reference CPU (float64, slow)' }).click();
    await expect.poll(async () => (await backendOf(page))?.device.backend).toBe('cpu');
    expect(await backendOf(page)).toMatchObject({ webgpu: false, failureKind: 'chosen-cpu' });
    await expect(banner).toContainText('Training on the reference CPU (float64) backend (your choice).');

    await banner.getByRole('button', { name: 'Use the fast CPU (WebAssembly)' }).click();
    await expect.poll(async () => (await backendOf(page))?.device.backend).toBe('wasm');
    expect(await backendOf(page)).toMatchObject({ webgpu: false, failureKind: 'chosen-cpu' });
    await expect(banner.getByRole('button', { name: 'Use the reference CPU (float64, slow)' })).toBeVisible();
  });
});
