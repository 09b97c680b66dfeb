// window.__lab.laplace: the Laplace page's state in numbers for the e2e tests (docs/architecture.md,
// "Testing"), installed when the page's chunk loads (the shell's hook, src/ui/test-hook.ts, exists
// from start-up; this page adds its part without the shell importing the page).
import type { MarglikJobResult } from '../../../worker/jobs/marglik-job.ts';
import type { FitPoint, Flavour } from './laplace-figures.ts';
import { useLaplacePage, type JobStatus, type LaplaceSettings, type PageMessage } from './laplace-store.ts';

export interface LaplaceTestHook {
  readonly settings: LaplaceSettings;
  readonly urlErrors: string[];
  readonly messages: PageMessage[];
  readonly status: JobStatus | null;
  readonly chartsReady: boolean;
  /** The Laplace fits so far, per flavour. */
  readonly fits: Record<Flavour, FitPoint[]>;
  /** The finished run's result (null before). */
  result(): MarglikJobResult | null;
  setSettings(partial: Partial<LaplaceSettings>): void;
  run(): void;
}

declare module '../../test-hook.ts' {
  interface LabTestHook {
    laplace?: LaplaceTestHook;
  }
}

const hook: LaplaceTestHook = {
  get settings() {
    return useLaplacePage.getState().settings;
  },
  get urlErrors() {
    return useLaplacePage.getState().urlErrors;
  },
  get messages() {
    return useLaplacePage.getState().messages;
  },
  get status() {
    return useLaplacePage.getState().status;
  },
  get chartsReady() {
    return useLaplacePage.getState().chartsReady;
  },
  get fits() {
    return useLaplacePage.getState().fits;
  },
  result: () => useLaplacePage.getState().result,
  setSettings: (partial) => useLaplacePage.getState().setSettings(partial),
  run: () => useLaplacePage.getState().run(),
};

/** Adds `laplace` to window.__lab when the shell installed it. */
export function installLaplaceHook(): void {
  if (typeof window !== 'undefined' && window.__lab)
    Object.defineProperty(window.__lab, 'laplace', { value: hook, configurable: true, enumerable: true });
}
