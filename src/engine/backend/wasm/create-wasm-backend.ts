// The WASM backend, or — where this JavaScript engine cannot run the kernels (no WebAssembly, or no
// 128-bit SIMD) — the reference CPU backend with both reasons recorded in info.fallbackReason.
import type { Backend } from '../backend.ts';
import { CpuBackend } from '../cpu/cpu-backend.ts';
import { WasmBackend } from './wasm-backend.ts';
import { wasmUnavailableReason } from './wasm-module.ts';

/** `webgpuReason`: why WebGPU was not used (when this is a fallback from it). */
export function createWasmBackend(webgpuReason?: string): Backend {
  const wasmReason = wasmUnavailableReason();
  if (wasmReason === null) return new WasmBackend(webgpuReason);
  return new CpuBackend(
    webgpuReason ? `${webgpuReason}; WASM backend unavailable: ${wasmReason}` : `WASM backend unavailable: ${wasmReason}`,
  );
}
