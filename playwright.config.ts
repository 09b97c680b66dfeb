// End-to-end tests of the app in headless Chromium with software WebGPU (SwiftShader).
// Two projects: WebGPU on (the GPU path) and WebGPU off (the CPU fallback path).
import { existsSync } from 'node:fs';
import { defineConfig } from '@playwright/test';

const PORT = 4317;
const HOST = '127.0.0.1';

/** The Debian/Ubuntu system Chromium, else Playwright's own download (`npx playwright install chromium`). */
const SYSTEM_CHROMIUM = process.env.KFAC_CHROMIUM ?? '/usr/bin/chromium';
const executablePath = existsSync(SYSTEM_CHROMIUM) ? SYSTEM_CHROMIUM : undefined;

/** Quiet, reproducible browser: no background services, no first-run UI; the sandbox fails in containers. */
const COMMON_ARGS = [
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Headless Chromium exposes no WebGPU adapter without --enable-unsafe-webgpu (that flag alone suffices
 * for Chromium 156 on a GPU-less Linux machine). The others pin the adapter to SwiftShader, so a
 * machine with a real GPU runs the same software adapter as CI.
 */
const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'];

/** Set KFAC_E2E_PREVIEW=1 to test the production bundle (vite build + vite preview) instead of the dev server. */
const usePreview = !!process.env.KFAC_E2E_PREVIEW;

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'e2e/artifacts',
  // One browser at a time: SwiftShader already uses every core.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [['list'], ['html', { outputFolder: 'playwright-report', open: 'never' }]],
  use: {
    baseURL: `http://${HOST}:${PORT}`,
    screenshot: { mode: 'on', fullPage: true },
    trace: 'retain-on-failure',
    browserName: 'chromium',
  },
  projects: [
    {
      name: 'webgpu',
      grep: /@webgpu-on/,
      use: { launchOptions: { executablePath, args: [...COMMON_ARGS, ...WEBGPU_ARGS] } },
    },
    {
      name: 'webgpu-off',
      grep: /@webgpu-off/,
      // --disable-webgpu keeps navigator.gpu but requestAdapter() returns null: the "no adapter" case.
      use: { launchOptions: { executablePath, args: [...COMMON_ARGS, '--disable-webgpu'] } },
    },
  ],
  webServer: {
    command: usePreview
      ? `npx vite build && npx vite preview --host ${HOST} --port ${PORT} --strictPort`
      : `npx vite --host ${HOST} --port ${PORT} --strictPort`,
    url: `http://${HOST}:${PORT}/`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
