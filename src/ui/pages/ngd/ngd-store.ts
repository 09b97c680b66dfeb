// The NGD page's settings (in the URL: '#/ngd?dataset=mnist-4-9&n=100&widths=64,256,1024,4096&eta=0.5')
// and its store: one 'ngd' worker job (src/worker/jobs/ngd-job.ts).
import type { NgdJobResult } from '../../../worker/jobs/ngd-job.ts';
import { createJobPageStore, queryChoice, queryList, queryNumber } from '../thermodynamic/job-page-store.ts';

export const NGD_PAGE_DATASETS = ['mnist-4-9', 'points'] as const;
export type NgdPageDataset = (typeof NGD_PAGE_DATASETS)[number];
export const NGD_PAGE_METHODS = ['ngd', 'gd', 'kfac'] as const;
export type NgdPageMethod = (typeof NGD_PAGE_METHODS)[number];

export const DATASET_LABELS: Record<NgdPageDataset, string> = {
  'mnist-4-9': 'MNIST 4 vs 9 (14×14, unit-norm, ±1 targets)',
  points: '2-D points on the circle (target sin 3θ)',
};

export const METHOD_LABELS: Record<NgdPageMethod, string> = {
  ngd: 'exact NGD',
  gd: 'GD (largest stable step)',
  kfac: 'K-FAC (first layer)',
};

export interface NgdSettings {
  dataset: NgdPageDataset;
  n: number;
  widths: number[];
  eta: number;
  steps: number;
  kfacDamping: number;
  seed: number;
  /** Index into widths shown by the charts (the width slider). */
  widthIndex: number;
}

export const DEFAULT_NGD_SETTINGS: NgdSettings = {
  dataset: 'mnist-4-9',
  n: 100,
  widths: [64, 256, 1024, 4096],
  eta: 0.5,
  steps: 10,
  kfacDamping: 0.01,
  seed: 1,
  widthIndex: 3,
};

export function ngdFromQuery(query: string): { settings: NgdSettings; errors: string[] } {
  const params = new URLSearchParams(query);
  const errors: string[] = [];
  const d = DEFAULT_NGD_SETTINGS;
  const widths = queryList(params, 'widths', d.widths, 1, 4096, 8, errors)
    .slice()
    .sort((a, b) => a - b);
  return {
    settings: {
      dataset: queryChoice(params, 'dataset', NGD_PAGE_DATASETS, d.dataset, errors),
      n: queryNumber(params, 'n', d.n, 2, 200, errors),
      widths,
      eta: queryNumber(params, 'eta', d.eta, 0.01, 1, errors, false),
      steps: queryNumber(params, 'steps', d.steps, 1, 100, errors),
      kfacDamping: queryNumber(params, 'damping', d.kfacDamping, 1e-8, 10, errors, false),
      seed: queryNumber(params, 'seed', d.seed, 0, 2 ** 31 - 1, errors),
      widthIndex: widths.length - 1,
    },
    errors,
  };
}

export function ngdToQuery(s: NgdSettings): string {
  return new URLSearchParams({
    dataset: s.dataset,
    n: String(s.n),
    widths: s.widths.join(','),
    eta: String(s.eta),
    steps: String(s.steps),
    damping: String(s.kfacDamping),
    seed: String(s.seed),
  }).toString();
}

export const useNgdPage = createJobPageStore<NgdSettings, NgdJobResult>({
  page: 'ngd',
  kind: 'ngd',
  defaults: DEFAULT_NGD_SETTINGS,
  fromQuery: ngdFromQuery,
  toQuery: ngdToQuery,
  toConfig: (s) => ({
    dataset: s.dataset,
    n: s.n,
    widths: s.widths,
    eta: s.eta,
    steps: s.steps,
    kfacDamping: s.kfacDamping,
    seed: s.seed,
    methods: [...NGD_PAGE_METHODS],
  }),
  what: 'The wide-network experiment',
  fileName: (r) => `kfac-lab-ngd-${r.config.dataset}-n${r.config.n}-eta${r.config.eta}.json`,
});
