// The Thermodynamic page's settings (in the URL: '#/thermodynamic?task=mlp-mnist&steps=300&device=8x1000,8x100')
// and its store: one 'thermo' worker job (src/worker/jobs/thermo-job.ts).
import type { ThermoJobResult } from '../../../worker/jobs/thermo-job.ts';
import { MAX_TRAIN_STEPS } from '../../../worker/jobs/limits.ts';
import { createJobPageStore, queryChoice, queryList, queryNumber } from './job-page-store.ts';

/** The tasks the page offers (the thermo lab's; listed here so the page does not load the engine). */
export const THERMO_PAGE_TASKS = ['mlp-mnist', 'mlp-spirals', 'vit-mnist'] as const;
export type ThermoPageTask = (typeof THERMO_PAGE_TASKS)[number];

export const TASK_LABELS: Record<ThermoPageTask, string> = {
  'mlp-mnist': 'MLP on MNIST (196-64-64-10)',
  'mlp-spirals': 'MLP on two spirals (2-32-32-2)',
  'vit-mnist': 'Tiny ViT on MNIST',
};

export const PAGE_WIDTHS: Record<ThermoPageTask, number[]> = {
  'mlp-mnist': [16, 32, 64, 128, 256],
  'mlp-spirals': [8, 16, 32, 64, 128],
  'vit-mnist': [16, 32, 64],
};

export interface DeviceSetting {
  bits: number;
  samples: number;
}

export interface ThermoSettings {
  task: ThermoPageTask;
  steps: number;
  seed: number;
  evalEvery: number;
  device: DeviceSetting[];
  /** Empty = the task's default widths. */
  widths: number[];
  widthSteps: number;
  /** The error grid's axes (URL only: errS, errB). */
  errorSamples: number[];
  errorBits: number[];
}

export const DEFAULT_THERMO_SETTINGS: ThermoSettings = {
  task: 'mlp-mnist',
  steps: 300,
  seed: 1,
  evalEvery: 10,
  device: [
    { bits: 8, samples: 1000 },
    { bits: 8, samples: 100 },
    { bits: 4, samples: 1000 },
  ],
  widths: [],
  widthSteps: 50,
  errorSamples: [10, 100, 1000, 10000],
  errorBits: [4, 6, 8, 12, 0],
};

export function formatDevice(device: readonly DeviceSetting[]): string {
  return device.map((d) => `${d.bits}x${d.samples}`).join(',');
}

/** "8x1000,4x100" → settings; null when malformed. */
export function parseDevice(text: string): DeviceSetting[] | null {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.length > 6) return null;
  const out: DeviceSetting[] = [];
  for (const p of parts) {
    const m = /^(\d+)x(\d+)$/.exec(p);
    if (!m) return null;
    const [bits, samples] = [Number(m[1]), Number(m[2])];
    if (!(bits === 0 || (bits >= 2 && bits <= 32)) || !(samples >= 1 && samples <= 100000)) return null;
    out.push({ bits, samples });
  }
  return out;
}

export function thermoFromQuery(query: string): { settings: ThermoSettings; errors: string[] } {
  const params = new URLSearchParams(query);
  const errors: string[] = [];
  const d = DEFAULT_THERMO_SETTINGS;
  let device = d.device;
  const rawDevice = params.get('device');
  if (rawDevice !== null) {
    const parsed = parseDevice(rawDevice);
    if (parsed) device = parsed;
    else
      errors.push(
        `device: expected up to 6 settings bits×samples like 8x1000,4x100 (bits 0 or 2 … 32, samples 1 … 100000), got ${JSON.stringify(rawDevice.slice(0, 40))}`,
      );
  }
  return {
    settings: {
      task: queryChoice(params, 'task', THERMO_PAGE_TASKS, d.task, errors),
      steps: queryNumber(params, 'steps', d.steps, 1, MAX_TRAIN_STEPS, errors),
      seed: queryNumber(params, 'seed', d.seed, 0, 2 ** 31 - 1, errors),
      evalEvery: queryNumber(params, 'eval', d.evalEvery, 1, MAX_TRAIN_STEPS, errors),
      device,
      widths: queryList(params, 'widths', d.widths, 2, 512, 8, errors),
      widthSteps: queryNumber(params, 'widthSteps', d.widthSteps, 0, 2000, errors),
      errorSamples: queryList(params, 'errS', d.errorSamples, 1, 100000, 8, errors),
      errorBits: queryList(params, 'errB', d.errorBits, 0, 32, 8, errors).map((b) => (b === 1 ? 2 : b)),
    },
    errors,
  };
}

export function thermoToQuery(s: ThermoSettings): string {
  const params = new URLSearchParams({
    task: s.task,
    steps: String(s.steps),
    seed: String(s.seed),
    eval: String(s.evalEvery),
    device: formatDevice(s.device),
  });
  if (s.widths.length > 0) params.set('widths', s.widths.join(','));
  if (s.widthSteps !== DEFAULT_THERMO_SETTINGS.widthSteps) params.set('widthSteps', String(s.widthSteps));
  if (s.errorSamples.join() !== DEFAULT_THERMO_SETTINGS.errorSamples.join()) params.set('errS', s.errorSamples.join(','));
  if (s.errorBits.join() !== DEFAULT_THERMO_SETTINGS.errorBits.join()) params.set('errB', s.errorBits.join(','));
  return params.toString();
}

export const useThermoPage = createJobPageStore<ThermoSettings, ThermoJobResult>({
  page: 'thermodynamic',
  kind: 'thermo',
  defaults: DEFAULT_THERMO_SETTINGS,
  fromQuery: thermoFromQuery,
  toQuery: thermoToQuery,
  toConfig: (s) => ({
    task: s.task,
    steps: s.steps,
    seed: s.seed,
    evalEvery: s.evalEvery,
    device: s.device,
    widths: s.widths.length > 0 ? s.widths : PAGE_WIDTHS[s.task],
    widthSteps: s.widthSteps,
    errorSamples: s.errorSamples,
    errorBits: s.errorBits,
  }),
  what: 'The thermodynamic K-FAC experiment',
  fileName: (r) => `kfac-lab-thermodynamic-${r.config.task}-seed${r.config.seed}.json`,
});
