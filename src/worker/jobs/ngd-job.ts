// The 'ngd' job: natural gradient on wide networks (docs/curvature-tools.md §7) for the NGD page —
// exact NGD, GD at its largest stable step and K-FAC on the first layer of the two-layer ReLU net,
// at each width, from the same initial weights, on the worker's backend.
import {
  compareWide,
  loadNgdData,
  NGD_DATASETS,
  WIDE_METHODS,
  type NgdDataset,
  type WideComparison,
  type WideMethod,
} from '../../engine/ngd/index.ts';
import {
  configRecord,
  describeValue,
  JobConfigError,
  readChoice,
  readInteger,
  readNumber,
  rethrowCancelled,
  unknownFields,
  type JobDefinition,
} from './job.ts';

export interface NgdJobConfig {
  dataset: NgdDataset;
  n: number;
  widths: number[];
  eta: number;
  steps: number;
  methods: WideMethod[];
  kfacDamping: number;
  seed: number;
}

export interface NgdJobResult {
  config: NgdJobConfig;
  device: string;
  comparison: WideComparison;
}

const FIELDS = ['dataset', 'n', 'widths', 'eta', 'steps', 'methods', 'kfacDamping', 'seed'] as const;
export const MAX_NGD_WIDTH = 4096;
export const MAX_NGD_EXAMPLES = 200;

export function parseNgdConfig(value: unknown): NgdJobConfig {
  const json = configRecord(value, 'ngd');
  const problems: string[] = [];
  unknownFields(json, FIELDS, 'ngd', problems);
  const dataset = readChoice(json.dataset, 'ngd.dataset', NGD_DATASETS, problems, 'mnist-4-9');
  const n = readInteger(json.n, 'ngd.n', 2, MAX_NGD_EXAMPLES, problems, 100);
  let widths: number[] | undefined = [64, 256, 1024, 4096];
  if (json.widths !== undefined) {
    if (!Array.isArray(json.widths) || json.widths.length === 0 || json.widths.length > 8) {
      problems.push(`ngd.widths: expected a list of 1 to 8 widths, got ${describeValue(json.widths)}`);
      widths = undefined;
    } else {
      const list = json.widths.map((w, i) => readInteger(w, `ngd.widths[${i}]`, 1, MAX_NGD_WIDTH, problems));
      widths = list.every((w) => w !== undefined) ? (list as number[]).slice().sort((a, b) => a - b) : undefined;
    }
  }
  const eta = readNumber(json.eta, 'ngd.eta', 0.01, 1, problems, 0.5);
  const steps = readInteger(json.steps, 'ngd.steps', 1, 100, problems, 10);
  let methods: WideMethod[] | undefined = [...WIDE_METHODS];
  if (json.methods !== undefined) {
    if (!Array.isArray(json.methods) || json.methods.length === 0) {
      problems.push(`ngd.methods: expected a list of ${WIDE_METHODS.join(', ')}, got ${describeValue(json.methods)}`);
      methods = undefined;
    } else {
      const list = json.methods.map((m, i) => readChoice(m, `ngd.methods[${i}]`, WIDE_METHODS, problems));
      methods = list.every((m) => m !== undefined) ? [...new Set(list as WideMethod[])] : undefined;
    }
  }
  const kfacDamping = readNumber(json.kfacDamping, 'ngd.kfacDamping', 1e-8, 10, problems, 0.01);
  const seed = readInteger(json.seed, 'ngd.seed', 0, 2 ** 31 - 1, problems, 1);
  if (
    problems.length > 0 ||
    !dataset ||
    n === undefined ||
    !widths ||
    eta === undefined ||
    steps === undefined ||
    !methods ||
    kfacDamping === undefined ||
    seed === undefined
  )
    throw new JobConfigError(problems);
  return { dataset, n, widths, eta, steps, methods, kfacDamping, seed };
}

export const ngdJob: JobDefinition<NgdJobConfig, NgdJobResult> = {
  kind: 'ngd',
  about: 'natural gradient on wide two-layer ReLU nets: NGD, GD and K-FAC residuals per step at each width',
  parseConfig: parseNgdConfig,
  async run(config, { backend, signal, progress }) {
    progress({ stage: 'loading the data', done: 0, total: 1 });
    const data = await loadNgdData(config.dataset, config.n, config.seed);
    const comparison = await compareWide(backend, data, {
      widths: config.widths,
      methods: config.methods,
      eta: config.eta,
      steps: config.steps,
      seed: config.seed,
      kfacDamping: config.kfacDamping,
      signal,
      onProgress: async (done, total, what) => {
        progress({ stage: what, done, total });
        // Let the worker read a cancel between steps.
        await new Promise((resolve) => setTimeout(resolve, 0));
      },
    }).catch(rethrowCancelled(signal));
    return { result: { config, device: backend.info.summary, comparison } };
  },
};
