// Shared fixtures: every test fails on console errors or uncaught page errors, and gets helpers
// that read the app's state through its test hook (window.__lab, src/ui/test-hook.ts).
import { test as base, expect, type Page } from '@playwright/test';
import type { LabTestHook } from '../src/ui/test-hook.ts';

type LabSnapshot = Pick<LabTestHook, 'status' | 'gpu' | 'gpuErrors' | 'selfCheck'>;

export async function labState(page: Page): Promise<LabSnapshot> {
  return page.evaluate(() => {
    const lab = window.__lab!;
    return { status: lab.status, gpu: lab.gpu, gpuErrors: lab.gpuErrors, selfCheck: lab.selfCheck };
  });
}

/** Waits until the WebGPU probe has settled (never an endless "probing"). */
export async function waitForStatus(page: Page): Promise<LabSnapshot> {
  await expect
    .poll(async () => (await page.evaluate(() => window.__lab?.status)) ?? 'no hook', { timeout: 30_000 })
    .not.toMatch(/^(probing|no hook)$/);
  return labState(page);
}

/**
 * Waits until self-check run number `run` (default: any) has finished; SwiftShader compiles each
 * matmul pipeline slowly on the first run.
 */
export async function waitForSelfCheck(page: Page, run?: number): Promise<LabSnapshot> {
  await expect
    .poll(async () => page.evaluate(() => window.__lab && { state: window.__lab.selfCheck.state, run: window.__lab.selfCheck.run }), {
      timeout: 75_000,
    })
    .toMatchObject(run === undefined ? { state: 'done' } : { state: 'done', run });
  return labState(page);
}

/** Opens the page and its diagnostics section (the page's own WebGPU status and the self-check, which starts on opening). */
export async function gotoDiagnostics(page: Page, url = '/'): Promise<LabSnapshot> {
  await page.goto(url);
  const state = await waitForStatus(page);
  await page.getByTestId('diagnostics').locator('summary').click();
  return state;
}

export const test = base.extend<{ consoleErrors: string[] }>({
  consoleErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(`console.error: ${msg.text()}`);
      });
      page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
      await use(errors);
      expect(errors, 'console errors on the page').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
