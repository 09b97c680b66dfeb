// Opens the backends the page uses: always a CPU backend, and a WebGPU backend when one can be had.
// Turns every way WebGPU can be missing into a status the UI explains (docs/lab-ux.md,
// "WebGPU availability"). Framework-free, so it can move into the engine worker later.
import type { AdapterDescription } from '../engine/backend/backend.ts';
import { requestWebGPU, type WebGPUUnavailableKind } from '../engine/backend/create-backend.ts';
import { CpuBackend } from '../engine/backend/cpu/cpu-backend.ts';
import type { WebGPUBackend } from '../engine/backend/webgpu/webgpu-backend.ts';
import { classifyWebGPUFailure } from '../worker/gpu-status.ts';

export type GpuStatus =
  | { state: 'probing' }
  | { state: 'webgpu'; summary: string; adapter: AdapterDescription; limits: Record<string, number> }
  | { state: 'cpu-fallback'; kind: WebGPUUnavailableKind | 'unexpected'; reason: string }
  | { state: 'device-lost'; reason: string; message: string; summary: string };

export type GpuState = GpuStatus['state'];

export interface GpuSession {
  cpu: CpuBackend;
  /** null when WebGPU is unavailable or its device was lost. */
  webgpu: WebGPUBackend | null;
  status: GpuStatus;
}

export interface GpuSessionEvents {
  /** The device was lost without us asking for it. */
  onDeviceLost(status: Extract<GpuStatus, { state: 'device-lost' }>): void;
  /** A validation or out-of-memory error no error scope caught (a kernel bug, usually). */
  onUncapturedError(message: string): void;
}

/** Backends we destroyed ourselves: their device loss is expected and not reported. */
const retired = new WeakSet<WebGPUBackend>();

export async function openGpuSession(events: GpuSessionEvents): Promise<GpuSession> {
  const cpu = new CpuBackend();
  let webgpu: WebGPUBackend;
  try {
    webgpu = await requestWebGPU();
  } catch (e) {
    const status: GpuStatus = { state: 'cpu-fallback', ...classifyWebGPUFailure(e) };
    return { cpu: new CpuBackend(status.reason), webgpu: null, status };
  }
  const { summary, adapter, limits } = webgpu.info;
  void webgpu.device.lost.then((info) => {
    if (retired.has(webgpu)) return;
    events.onDeviceLost({ state: 'device-lost', reason: info.reason ?? 'unknown', message: info.message || 'no message given', summary });
  });
  webgpu.device.addEventListener('uncapturederror', (event) => {
    events.onUncapturedError((event as GPUUncapturedErrorEvent).error.message);
  });
  return { cpu, webgpu, status: { state: 'webgpu', summary, adapter: adapter!, limits: limits ?? {} } };
}

/** Destroys a WebGPU backend on purpose (before retrying), without reporting a device loss. */
export function closeGpu(webgpu: WebGPUBackend | null): void {
  if (!webgpu) return;
  retired.add(webgpu);
  try {
    webgpu.destroy();
  } catch {
    // A lost device may refuse to release its buffers; it is gone either way.
  }
}

/** For tests and for trying the device-lost path by hand: the device is lost as if the GPU reset. */
export function loseDevice(webgpu: WebGPUBackend | null): boolean {
  if (!webgpu || webgpu.lostReason !== null) return false;
  webgpu.device.destroy();
  return true;
}
