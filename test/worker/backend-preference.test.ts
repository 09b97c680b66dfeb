// The lab's backend preference end to end: the worker protocol accepts exactly 'webgpu', 'wasm' and
// 'cpu', and the opener gives the backend each names (a chosen CPU backend is reported as chosen).
import { describe, expect, it } from 'vitest';
import { BACKEND_PREFERENCES, commandProblem } from '../../src/worker/protocol.ts';
import { openLabBackend } from '../../src/worker/gpu-status.ts';
import { wasmUnavailableReason } from '../../src/engine/backend/wasm/wasm-module.ts';

describe('open.prefer validation', () => {
  it('accepts webgpu, wasm and cpu', () => {
    expect(BACKEND_PREFERENCES).toEqual(['webgpu', 'wasm', 'cpu']);
    for (const prefer of ['webgpu', 'wasm', 'cpu']) expect(commandProblem({ type: 'open', prefer })).toBeNull();
  });

  it('refuses anything else, naming the field and the choices', () => {
    for (const prefer of ['gpu', 'WASM', '', null, undefined, 1, ['cpu']]) {
      const problem = commandProblem({ type: 'open', prefer });
      expect(problem).toMatch(/^open\.prefer: expected 'webgpu', 'wasm', 'cpu', got /);
    }
    expect(commandProblem({ type: 'open' })).toMatch(/got undefined$/);
  });
});

describe('openLabBackend', () => {
  it("'wasm' opens the WebAssembly backend, reported as the user's choice", async () => {
    expect(wasmUnavailableReason(), 'this Node has WebAssembly SIMD').toBeNull();
    const { backend, report } = await openLabBackend('wasm');
    try {
      expect(backend.name).toBe('wasm');
      expect(report).toMatchObject({ webgpu: false, failureKind: 'chosen-cpu', device: { backend: 'wasm' } });
    } finally {
      backend.destroy();
    }
  });

  it("'cpu' opens the float64 reference backend, reported as the user's choice", async () => {
    const { backend, report } = await openLabBackend('cpu');
    try {
      expect(backend.name).toBe('cpu');
      expect(report).toMatchObject({ webgpu: false, failureKind: 'chosen-cpu', device: { backend: 'cpu' } });
    } finally {
      backend.destroy();
    }
  });
});
