import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

const NODE_GPU_STUB = '\0node-gpu-stub';

/**
 * create-backend.ts loads webgpu/node-gpu.ts (Dawn, node:fs) only when running in Node. Bundlers
 * follow that dynamic import anyway, so in the browser build it resolves to a stub instead: no
 * node:* externals, only a tiny stub chunk. Vitest has its own config and still gets the real module.
 */
function nodeGpuBrowserStub(): Plugin {
  return {
    name: 'kfac-lab:node-gpu-browser-stub',
    enforce: 'pre',
    resolveId(source, importer) {
      if (importer && /[\\/]src[\\/]engine[\\/]/.test(importer) && /(^|\/)node-gpu(\.ts)?$/.test(source)) return NODE_GPU_STUB;
      return null;
    },
    load(id) {
      if (id !== NODE_GPU_STUB) return null;
      return 'export async function nodeGpu() { return { reason: "the Node WebGPU bindings are not available in a browser" }; }\n';
    },
  };
}

export default defineConfig({
  plugins: [nodeGpuBrowserStub(), react()],
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    // Playwright writes traces and reports (HTML among them) while tests run; they must not reload the page.
    watch: { ignored: ['**/e2e/artifacts/**', '**/playwright-report/**', '**/test-results/**', '**/bench/results/**'] },
  },
  // Pre-bundled up front: a dependency discovered while a page runs makes the dev server reload it.
  optimizeDeps: { include: ['react', 'react-dom/client', 'react/jsx-dev-runtime', 'zustand', 'idb-keyval', 'plotly.js-dist-min'] },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true },
  // The lab's engine runs in a module worker (src/worker/lab-worker.ts); it needs the same stub.
  worker: { format: 'es', plugins: () => [nodeGpuBrowserStub()] },
  // plotly.js is one 4.6 MB chunk (1.4 MB gzipped), loaded lazily after the page has painted.
  build: { target: 'es2022', chunkSizeWarningLimit: 5000 },
});
