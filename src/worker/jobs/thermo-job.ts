// The 'thermo' job: the Thermodynamic page's experiment (docs/curvature-tools.md §6), computed by the
// engine's thermo lab on the worker's backend: (1) Adam, digital K-FAC and thermodynamic K-FAC at the
// chosen (b, S) from the same weights on the same batches; (2) the device's relative error on the
// digital K-FAC model's own π-damped factors against S and b; (3) the condition numbers of the
// damped factors as the architecture widens, and the digital n³ vs analog n²κ² cost per factor.
import {
  conditionByWidth,
  dampedFactors,
  inverseErrors,
  thermoRace,
  THERMO_TASKS,
  type DampedFactor,
  type InverseErrorGrid,
  type ThermoRace,
  type ThermoRunSpec,
  type ThermoTask,
  type WidthCost,
} from '../../engine/tools/thermo/thermo-lab.ts';
import { TASKS } from '../../engine/lab/tasks.ts';
import {
  configRecord,
  describeValue,
  JobConfigError,
  readChoice,
  readInteger,
  rethrowCancelled,
  unknownFields,
  type JobDefinition,
} from './job.ts';
import { MAX_TRAIN_STEPS } from './limits.ts';

export interface ThermoJobConfig {
  task: ThermoTask;
  steps: number;
  seed: number;
  evalEvery: number;
  /** The device settings raced against Adam and digital K-FAC. */
  device: { bits: number; samples: number }[];
  /** The error grid's axes. */
  errorSamples: number[];
  errorBits: number[];
  /** Hidden widths of the cost model (MLP units, ViT dim). */
  widths: number[];
  /** Adam steps before each width's factors are fitted. */
  widthSteps: number;
}

export interface ThermoJobResult {
  config: ThermoJobConfig;
  device: string;
  race: ThermoRace;
  errors: InverseErrorGrid;
  /** The damped factors the error grid used: their sizes and condition numbers. */
  factors: { layer: string; factor: 'A' | 'G'; n: number; condition: number }[];
  cost: WidthCost[];
}

const FIELDS = ['task', 'steps', 'seed', 'evalEvery', 'device', 'errorSamples', 'errorBits', 'widths', 'widthSteps'] as const;

function readIntegerList(
  value: unknown,
  where: string,
  min: number,
  max: number,
  maxLength: number,
  problems: string[],
  fallback: number[],
): number[] | undefined {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.length === 0 || value.length > maxLength) {
    problems.push(`${where}: expected a list of 1 to ${maxLength} whole numbers, got ${describeValue(value)}`);
    return undefined;
  }
  const out: number[] = [];
  value.forEach((v, i) => {
    const x = readInteger(v, `${where}[${i}]`, min, max, problems);
    if (x !== undefined) out.push(x);
  });
  return out.length === value.length ? out : undefined;
}

export const DEFAULT_WIDTHS: Record<ThermoTask, number[]> = {
  'mlp-mnist': [16, 32, 64, 128, 256],
  'mlp-spirals': [8, 16, 32, 64, 128],
  'vit-mnist': [16, 32, 64],
};

export function parseThermoConfig(value: unknown): ThermoJobConfig {
  const json = configRecord(value, 'thermo');
  const problems: string[] = [];
  unknownFields(json, FIELDS, 'thermo', problems);
  const task = readChoice(json.task, 'thermo.task', THERMO_TASKS, problems, 'mlp-mnist');
  const steps = readInteger(json.steps, 'thermo.steps', 1, MAX_TRAIN_STEPS, problems, 300);
  const seed = readInteger(json.seed, 'thermo.seed', 0, 2 ** 31 - 1, problems, 1);
  const evalEvery = readInteger(json.evalEvery, 'thermo.evalEvery', 1, MAX_TRAIN_STEPS, problems, 10);
  let device: { bits: number; samples: number }[] | undefined = [{ bits: 8, samples: 1000 }];
  if (json.device !== undefined) {
    if (!Array.isArray(json.device) || json.device.length === 0 || json.device.length > 6) {
      problems.push(`thermo.device: expected a list of 1 to 6 { bits, samples }, got ${describeValue(json.device)}`);
      device = undefined;
    } else {
      device = [];
      json.device.forEach((d, i) => {
        const r = typeof d === 'object' && d !== null ? (d as Record<string, unknown>) : {};
        const bits = readInteger(r.bits, `thermo.device[${i}].bits`, 0, 32, problems);
        const samples = readInteger(r.samples, `thermo.device[${i}].samples`, 1, 100000, problems);
        if (bits === 1) problems.push(`thermo.device[${i}].bits: 1 bit cannot hold a sign and a magnitude; use 0 (exact) or 2 … 32`);
        if (bits !== undefined && samples !== undefined) device!.push({ bits, samples });
      });
    }
  }
  const errorSamples = readIntegerList(json.errorSamples, 'thermo.errorSamples', 1, 100000, 8, problems, [10, 100, 1000, 10000]);
  const errorBits = readIntegerList(json.errorBits, 'thermo.errorBits', 0, 32, 8, problems, [4, 6, 8, 12, 0]);
  errorBits?.forEach((b, i) => {
    if (b === 1) problems.push(`thermo.errorBits[${i}]: 1 bit cannot hold a sign and a magnitude; use 0 (exact) or 2 … 32`);
  });
  const widths = readIntegerList(json.widths, 'thermo.widths', 2, 512, 8, problems, DEFAULT_WIDTHS[task ?? 'mlp-mnist']);
  const widthSteps = readInteger(json.widthSteps, 'thermo.widthSteps', 0, 2000, problems, 50);
  if (task === 'vit-mnist')
    widths?.forEach(
      (w, i) => w % 4 !== 0 && problems.push(`thermo.widths[${i}]: the ViT's width must be a multiple of its 4 heads, got ${w}`),
    );
  if (
    problems.length > 0 ||
    !task ||
    steps === undefined ||
    seed === undefined ||
    evalEvery === undefined ||
    !device ||
    !errorSamples ||
    !errorBits ||
    !widths ||
    widthSteps === undefined
  )
    throw new JobConfigError(problems);
  return { task, steps, seed, evalEvery, device, errorSamples, errorBits, widths, widthSteps };
}

export const thermoJob: JobDefinition<ThermoJobConfig, ThermoJobResult> = {
  kind: 'thermo',
  about:
    'thermodynamic K-FAC: the race against digital K-FAC and Adam, the device’s inverse error vs S and b, and the cost model as width grows',
  parseConfig: parseThermoConfig,
  async run(config, { backend, signal, progress }) {
    const runs: ThermoRunSpec[] = [
      { optimizer: 'adam' },
      { optimizer: 'kfac' },
      ...config.device.map((d) => ({ optimizer: 'kfac-thermodynamic' as const, ...d })),
    ];
    const def = TASKS[config.task];
    const damping = (def.setting === 'reduce' ? def.preset.reduce : def.preset.expand).damping;
    let factors: DampedFactor[] = [];
    const rethrow = rethrowCancelled(signal);
    progress({ stage: 'loading the data', done: 0, total: 1 });
    const race = await thermoRace(backend, {
      task: config.task,
      runs,
      steps: config.steps,
      seed: config.seed,
      evalEvery: config.evalEvery,
      signal,
      onProgress: (done, total, what, loss) =>
        progress({ stage: `training: ${what}`, done, total, values: loss === undefined ? undefined : { loss } }),
      onTrained: async (spec, model, placed) => {
        if (spec.optimizer !== 'kfac') return;
        progress({ stage: 'fitting the digital K-FAC model’s factors', done: 0, total: 1 });
        factors = await dampedFactors(placed, model, {
          examples: 512,
          damping,
          approx: def.setting === 'reduce' ? 'reduce' : 'expand',
          seed: config.seed,
          signal,
        });
      },
    }).catch(rethrow);
    if (factors.length === 0) throw new Error('thermo: digital K-FAC did not finish, so there are no factors to measure the device on');
    const errors = await inverseErrors(factors, {
      samples: config.errorSamples,
      bits: config.errorBits,
      seeds: 2,
      signal,
      onProgress: (done, total) => progress({ stage: 'the device’s error vs S and b', done, total }),
    }).catch(rethrow);
    const cost = await conditionByWidth(backend, {
      task: config.task,
      widths: config.widths,
      seed: config.seed,
      trainSteps: config.widthSteps,
      examples: 256,
      signal,
      onProgress: (done, total, what) => progress({ stage: `condition numbers as width grows: ${what}`, done, total }),
    }).catch(rethrow);
    return {
      result: {
        config,
        device: backend.info.summary,
        race,
        errors,
        factors: factors.map(({ layer, factor, n, condition }) => ({ layer, factor, n, condition })),
        cost,
      },
    };
  },
};
