// window.__lab: a read-only view of the shell's state for the Playwright tests (e2e/), so they assert
// on numbers rather than pixels. Also handy in the browser console.
import type { GpuState, GpuStatus } from './gpu-session.ts';
import { useLab, type LabState, type SelfCheckState } from './store.ts';

export interface LabTestHook {
  /** 'probing' | 'webgpu' | 'cpu-fallback' | 'device-lost' */
  readonly status: GpuState;
  /** The full status: adapter and limits, or the failure kind and reason. */
  readonly gpu: GpuStatus;
  readonly gpuErrors: LabState['gpuErrors'];
  readonly selfCheck: SelfCheckState;
  runSelfCheck(): Promise<void>;
  retryWebGPU(): Promise<void>;
  /** Destroys the WebGPU device as if the GPU had reset; false when there is no live device. */
  simulateDeviceLoss(): boolean;
}

declare global {
  interface Window {
    __lab?: LabTestHook;
  }
}

export function installTestHook(): void {
  window.__lab = {
    get status() {
      return useLab.getState().gpu.state;
    },
    get gpu() {
      return useLab.getState().gpu;
    },
    get gpuErrors() {
      return useLab.getState().gpuErrors;
    },
    get selfCheck() {
      return useLab.getState().selfCheck;
    },
    runSelfCheck: () => useLab.getState().runSelfCheck(),
    retryWebGPU: () => useLab.getState().retryWebGPU(),
    simulateDeviceLoss: () => useLab.getState().simulateDeviceLoss(),
  };
}
