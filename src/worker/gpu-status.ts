// Opening the lab's backend: WebGPU when it can be had, else the CPU backend with the failure kind
// the UI explains (docs/lab-ux.md, "WebGPU availability"). Framework-free: the lab worker and the
// page shell (src/ui/gpu-session.ts) share the classification.
import type { Backend } from '../engine/backend/backend.ts';
import { requestWebGPU, WebGPUUnavailableError } from '../engine/backend/create-backend.ts';
import { CpuBackend } from '../engine/backend/cpu/cpu-backend.ts';
import { createWasmBackend } from '../engine/backend/wasm/create-wasm-backend.ts';
import type { WebGPUBackend } from '../engine/backend/webgpu/webgpu-backend.ts';
import { deviceOf } from '../engine/lab/report.ts';
import type { BackendFailureKind, BackendPreference, BackendReport } from './protocol.ts';

export interface WebGPUFailure {
  kind: Extract<
    BackendFailureKind,
    'no-navigator-gpu' | 'insecure-context' | 'no-node-gpu' | 'no-adapter' | 'request-device-failed' | 'unexpected'
  >;
  reason: string;
}

/** Which way requesting WebGPU failed; anything but WebGPUUnavailableError is 'unexpected'. */
export function classifyWebGPUFailure(error: unknown): WebGPUFailure {
  if (error instanceof WebGPUUnavailableError) return { kind: error.kind, reason: error.reason };
  return { kind: 'unexpected', reason: error instanceof Error ? error.message : String(error) };
}

export interface OpenedBackend {
  backend: Backend;
  report: BackendReport;
}

/** Opens a backend for the lab session; injectable so tests can hand in their own. */
export type BackendOpener = (prefer: BackendPreference) => Promise<OpenedBackend>;

export function reportFor(backend: Backend, failureKind: BackendFailureKind | null): BackendReport {
  return { device: deviceOf(backend), webgpu: backend.name === 'webgpu', failureKind };
}

/**
 * A CPU backend: the one the user chose (`failure` null: 'wasm' the fast WebAssembly SIMD backend,
 * 'cpu' the float64 reference), or the fallback for `failure`: then the fast WASM backend, or the
 * reference CPU where WebAssembly SIMD is missing (both reasons kept).
 */
export function cpuBackend(
  failure: { kind: BackendFailureKind; reason: string } | null,
  chosen: Exclude<BackendPreference, 'webgpu'> = 'cpu',
): OpenedBackend {
  const fallback = failure !== null && failure.kind !== 'chosen-cpu';
  const backend = fallback ? createWasmBackend(failure.reason) : chosen === 'wasm' ? createWasmBackend() : new CpuBackend();
  return { backend, report: reportFor(backend, failure?.kind ?? 'chosen-cpu') };
}

export const openLabBackend: BackendOpener = async (prefer) => {
  if (prefer !== 'webgpu') return cpuBackend(null, prefer);
  try {
    const backend = await requestWebGPU();
    return { backend, report: reportFor(backend, null) };
  } catch (e) {
    return cpuBackend(classifyWebGPUFailure(e));
  }
};

/** The WebGPU backend behind a Backend, or null for the CPU. */
export function asWebGPU(backend: Backend | null): WebGPUBackend | null {
  return backend && backend.name === 'webgpu' && 'device' in backend ? (backend as WebGPUBackend) : null;
}
