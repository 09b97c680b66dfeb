// Backends for tests. The WebGPU backend is required: a GPU test that silently skips is a defect
// (docs/architecture.md, "Testing"). Only an explicit KFAC_SKIP_WEBGPU=1 lets the WebGPU half be skipped, and
// CI never sets it.
import { afterAll, beforeAll } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { requestWebGPU } from '../../src/engine/backend/create-backend.ts';
import type { WebGPUBackend } from '../../src/engine/backend/webgpu/webgpu-backend.ts';
import { WasmBackend } from '../../src/engine/backend/wasm/wasm-backend.ts';

export interface TestBackends {
  cpu: CpuBackend;
  gpu: WebGPUBackend;
  /** The fast CPU backend (float32, WebAssembly SIMD); always available in Node. */
  wasm: WasmBackend;
}

let announced = false;

/** Call at the top of a test file; the returned object is filled in beforeAll. */
export function useBackends(): TestBackends {
  const backends = {} as TestBackends;
  beforeAll(async () => {
    backends.cpu = new CpuBackend();
    backends.wasm = new WasmBackend();
    if (process.env.KFAC_SKIP_WEBGPU === '1') {
      if (process.env.CI) throw new Error('KFAC_SKIP_WEBGPU=1 is not allowed in CI');
      return;
    }
    backends.gpu = await requestWebGPU({ debug: true });
    if (!announced) {
      announced = true;
      console.log(`[webgpu tests] ${backends.gpu.info.summary}`);
    }
  });
  afterAll(() => {
    backends.cpu?.destroy();
    backends.wasm?.destroy();
    backends.gpu?.destroy();
  });
  return backends;
}

/** Odd sizes that miss every tile multiple (docs/architecture.md, "Testing": 1, 3, 17, 63, 65, 130). */
export const AWKWARD_SIZES = [1, 3, 17, 63, 65, 130] as const;
