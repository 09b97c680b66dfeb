// UI state of the app shell: WebGPU status and the self-check. The backends themselves live outside
// the store (they are not state to render, and must not be copied or frozen).
import { create } from 'zustand';
import type { BackendName } from '../engine/backend/backend.ts';
import { closeGpu, loseDevice, openGpuSession, type GpuSession, type GpuStatus } from './gpu-session.ts';
import { runSelfCheck, SELF_CHECK_CASES, type CaseResult } from './self-check.ts';

export interface SelfCheckState {
  state: 'idle' | 'running' | 'done';
  /** Counts runs, so a caller can tell a finished rerun from the previous result. */
  run: number;
  cases: CaseResult[];
  total: number;
  backends: BackendName[];
  /** null until a run has finished. */
  passed: boolean | null;
  summary: string;
}

export interface DiagnosticsState {
  gpu: GpuStatus;
  gpuErrors: { count: number; last: string | null };
  selfCheck: SelfCheckState;
  /** The latest status sentence for the polite live region. */
  announcement: string;
  start(): Promise<void>;
  retryWebGPU(): Promise<void>;
  runSelfCheck(): Promise<void>;
  simulateDeviceLoss(): boolean;
}

let session: GpuSession | null = null;
let started = false;

function announceGpu(gpu: GpuStatus): string {
  switch (gpu.state) {
    case 'probing':
      return 'Looking for a WebGPU adapter…';
    case 'webgpu':
      return `WebGPU ready: ${gpu.summary}.`;
    case 'cpu-fallback':
      return `WebGPU unavailable (${gpu.reason}); using the CPU backend.`;
    case 'device-lost':
      return 'The WebGPU device was lost; the lab continues on the CPU backend.';
  }
}

export const useDiagnostics = create<DiagnosticsState>()((set, get) => {
  async function open(): Promise<void> {
    set({ gpu: { state: 'probing' }, announcement: announceGpu({ state: 'probing' }) });
    session = await openGpuSession({
      onDeviceLost(lost) {
        if (session) session.webgpu = null;
        set({ gpu: lost, announcement: announceGpu(lost) });
      },
      onUncapturedError(message) {
        set((s) => ({ gpuErrors: { count: s.gpuErrors.count + 1, last: message } }));
      },
    });
    set({ gpu: session.status, gpuErrors: { count: 0, last: null }, announcement: announceGpu(session.status) });
  }

  return {
    gpu: { state: 'probing' },
    gpuErrors: { count: 0, last: null },
    selfCheck: { state: 'idle', run: 0, cases: [], total: SELF_CHECK_CASES.length, backends: [], passed: null, summary: '' },
    announcement: '',

    // Idempotent: React's StrictMode runs effects twice in development. The self-check runs when
    // the diagnostics are opened (it computes on the main thread, which training must not share).
    async start() {
      if (started) return;
      started = true;
      await open();
    },

    async retryWebGPU() {
      if (get().selfCheck.state === 'running' || get().gpu.state === 'probing') return;
      const old = session;
      session = null;
      closeGpu(old?.webgpu ?? null);
      await open();
      await get().runSelfCheck();
    },

    async runSelfCheck() {
      if (!session || get().selfCheck.state === 'running') return;
      const { cpu, webgpu } = session;
      const backends: BackendName[] = webgpu ? ['cpu', 'webgpu'] : ['cpu'];
      const total = SELF_CHECK_CASES.length;
      const run = get().selfCheck.run + 1;
      set({
        selfCheck: { state: 'running', run, cases: [], total, backends, passed: null, summary: '' },
        announcement: `Self-check running on ${backends.length === 2 ? 'the CPU and WebGPU backends' : 'the CPU backend'}…`,
      });
      try {
        const report = await runSelfCheck(cpu, webgpu, (result) => {
          set((s) => ({ selfCheck: { ...s.selfCheck, cases: [...s.selfCheck.cases, result] } }));
        });
        set({ selfCheck: { state: 'done', run, total, ...report }, announcement: report.summary });
      } catch (e) {
        // runSelfCheck catches per-backend errors itself; this is a defect in the check, still shown, never thrown.
        const summary = `Self-check could not run: ${e instanceof Error ? e.message : String(e)}`;
        set((s) => ({ selfCheck: { ...s.selfCheck, state: 'done', passed: false, summary }, announcement: summary }));
      }
    },

    simulateDeviceLoss() {
      return loseDevice(session?.webgpu ?? null);
    },
  };
});
