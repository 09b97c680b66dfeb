// createBackend: WebGPU when an adapter can be had, else the WASM backend (fast CPU, WebAssembly
// SIMD), else the reference CPU backend, each fallback with its reason in `info.fallbackReason`
// (the UI and CLI show it).
import type { Backend } from './backend.ts';
import { CpuBackend } from './cpu/cpu-backend.ts';
import { WebGPUBackend } from './webgpu/webgpu-backend.ts';
import { createWasmBackend } from './wasm/create-wasm-backend.ts';

export interface CreateBackendOptions {
  prefer?: 'webgpu' | 'wasm' | 'cpu';
  /** Fail instead of falling back to the CPU (tests in CI, benchmarks). */
  requireWebGPU?: boolean;
  /** Validation error scopes around pipeline creation. */
  debug?: boolean;
  powerPreference?: GPUPowerPreference;
  /** WebGPU: bytes of free buffers kept for reuse (default 256 MiB). */
  maxPooledBytes?: number;
}

/** Which step failed, so a UI can say what to do about it (docs/lab-ux.md, "WebGPU availability"). */
export type WebGPUUnavailableKind = 'no-navigator-gpu' | 'insecure-context' | 'no-node-gpu' | 'no-adapter' | 'request-device-failed';

export class WebGPUUnavailableError extends Error {
  constructor(
    readonly reason: string,
    readonly kind: WebGPUUnavailableKind,
  ) {
    super(`WebGPU is unavailable: ${reason}`);
    this.name = 'WebGPUUnavailableError';
  }
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

/** Find a GPU object: navigator.gpu in browsers and workers, Dawn in Node. */
async function locateGpu(): Promise<{ gpu: GPU; driverNote?: string } | { reason: string; kind: WebGPUUnavailableKind }> {
  if (typeof navigator !== 'undefined' && 'gpu' in navigator && navigator.gpu) return { gpu: navigator.gpu };
  if (isNode) {
    const { nodeGpu } = await import('./webgpu/node-gpu.ts');
    const found = await nodeGpu();
    return 'reason' in found ? { reason: found.reason, kind: 'no-node-gpu' } : found;
  }
  if (typeof isSecureContext !== 'undefined' && !isSecureContext) {
    return { reason: 'this page is not a secure context (WebGPU needs https:// or http://localhost)', kind: 'insecure-context' };
  }
  return { reason: 'this browser has no navigator.gpu (use a recent Chrome, Edge or Firefox, or enable WebGPU)', kind: 'no-navigator-gpu' };
}

export async function requestWebGPU(options: CreateBackendOptions = {}): Promise<WebGPUBackend> {
  const found = await locateGpu();
  if ('reason' in found) throw new WebGPUUnavailableError(found.reason, found.kind);
  let adapter: GPUAdapter | null;
  try {
    adapter = await found.gpu.requestAdapter(options.powerPreference ? { powerPreference: options.powerPreference } : undefined);
  } catch (e) {
    throw new WebGPUUnavailableError(`requestAdapter failed: ${(e as Error).message}`, 'no-adapter');
  }
  if (!adapter)
    throw new WebGPUUnavailableError(
      'navigator.gpu exists but no adapter was found (GPU blocklisted, drivers missing, or WebGPU disabled)',
      'no-adapter',
    );
  try {
    return await WebGPUBackend.create(adapter, {
      debug: options.debug,
      driverNote: found.driverNote,
      maxPooledBytes: options.maxPooledBytes,
    });
  } catch (e) {
    throw new WebGPUUnavailableError(`requestDevice failed: ${(e as Error).message}`, 'request-device-failed');
  }
}

export async function createBackend(options: CreateBackendOptions = {}): Promise<Backend> {
  const prefer = options.prefer ?? 'webgpu';
  if (prefer === 'cpu') return new CpuBackend();
  if (prefer === 'wasm') return createWasmBackend();
  try {
    return await requestWebGPU(options);
  } catch (e) {
    if (options.requireWebGPU || !(e instanceof WebGPUUnavailableError)) throw e;
    return createWasmBackend(e.reason);
  }
}
