// Command-line arguments of `npm run lab`, parsed into an ExperimentConfig built on the task's preset
// (src/engine/lab/presets.ts), without touching the process so that tests can call it directly.
// Every problem is a LabArgsError whose message names the flag; the CLI prints it with the usage
// and exits 2.
import { presetConfig } from '../engine/lab/presets.ts';
import { validateConfig, type ExperimentConfig, type OptimizerEntry } from '../engine/lab/experiment-config.ts';
import { isTaskId, TASK_IDS, TASKS } from '../engine/lab/tasks.ts';
import { GROUP_IDS, groupSpec, OPTIMIZER_IDS, parseAssignment, type OptimizerId } from '../engine/optim/schema.ts';
import { gridPoints, MAX_TRIALS, parseSweep, SweepError, type SweepAxis } from '../engine/lab/sweep.ts';

export type LabBackendChoice = 'webgpu' | 'wasm' | 'cpu';

export interface LabRunArgs {
  kind: 'run';
  config: ExperimentConfig;
  backend: LabBackendChoice;
  /** --backend webgpu given explicitly: fail rather than fall back to the CPU. */
  requireWebGPU: boolean;
  json: string | null;
  csv: string | null;
  /** Tune these first (--sweep), then compare every run at its best values. */
  sweeps: SweepAxis[];
}

export type LabArgs = LabRunArgs | { kind: 'list' } | { kind: 'help' };

export class LabArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabArgsError';
  }
}

export const LAB_USAGE = `usage: npm run lab -- --task <id> [options]

  --task <id>              one of ${TASK_IDS.join(', ')}
  --optimizers <a,b,...>   runs, from ${OPTIMIZER_IDS.join(', ')} (default: the task preset's four)
  --steps <n>              training steps per run (default: the preset's)
  --seed <s>               initial weights and batch order, the same for every run (default: 1)
  --backend webgpu|wasm|cpu
                           default webgpu, falling back to wasm (fast CPU, WebAssembly SIMD), then to the
                           reference cpu backend (float64-capable, slow), each fallback with its reason
  --batch-size <b>         examples per step (default: the task's)
  --eval-interval <k>      evaluate every k steps (default: the preset's)
  --target <acc|none>      validation accuracy for steps/time-to-target (default: the preset's)
  --set <group.key=value>  a hyperparameter, e.g. kfac-reduce.damping=0.01 (repeatable; schedule.* and clip.* apply to every run)
  --sweep <group.key=v1,v2,...>
                           tune first: try each value (the grid of all --sweep axes of a run), keep the run's best
                           (fewest steps to the target; else best final metric), e.g. adam.lr=1e-3,3e-3,1e-2 (repeatable)
  --json <file>            write the config, device and every run's history as JSON
  --csv <file>             write one row per (run, step)
  --list                   list the tasks and optimizers
  --help                   this text`;

const VALUE_FLAGS = [
  'task',
  'optimizers',
  'steps',
  'seed',
  'backend',
  'batch-size',
  'eval-interval',
  'target',
  'set',
  'sweep',
  'json',
  'csv',
] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];
const SWITCHES = ['list', 'help'] as const;

function parseInteger(flag: string, text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new LabArgsError(`--${flag}: expected a non-negative integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

function parseTarget(text: string): ExperimentConfig['target'] {
  if (text === 'none') return null;
  const value = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text.trim()) ? Number(text) : NaN;
  if (!(value >= 0 && value <= 1))
    throw new LabArgsError(`--target: expected an accuracy between 0 and 1 or "none", got ${JSON.stringify(text)}`);
  return { metric: 'valAccuracy', value };
}

/** Split argv into flag values (the last one wins, except --set and --sweep which accumulate) and switches. */
function tokenize(argv: readonly string[]): {
  values: Partial<Record<ValueFlag, string>>;
  sets: string[];
  sweeps: string[];
  switches: Set<string>;
} {
  const values: Partial<Record<ValueFlag, string>> = {};
  const sets: string[] = [];
  const sweeps: string[] = [];
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h') {
      switches.add('help');
      continue;
    }
    if (!arg.startsWith('--')) throw new LabArgsError(`unexpected argument ${JSON.stringify(arg)} (flags start with --)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if ((SWITCHES as readonly string[]).includes(name)) {
      if (eq >= 0) throw new LabArgsError(`--${name} takes no value`);
      switches.add(name);
      continue;
    }
    if (!(VALUE_FLAGS as readonly string[]).includes(name)) {
      throw new LabArgsError(`unknown flag --${name} (known: ${[...VALUE_FLAGS, ...SWITCHES].map((f) => `--${f}`).join(', ')})`);
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) throw new LabArgsError(`--${name}: missing value`);
      value = argv[++i];
    }
    if (name === 'set') sets.push(value);
    else if (name === 'sweep') sweeps.push(value);
    else values[name as ValueFlag] = value;
  }
  return { values, sets, sweeps, switches };
}

/** The runs: preset entries of the listed optimizers (in the listed order), schema defaults for others. */
function selectOptimizers(preset: readonly OptimizerEntry[], list: string | undefined): OptimizerEntry[] {
  if (list === undefined) return preset.map((e) => structuredClone(e));
  const ids = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (ids.length === 0) throw new LabArgsError('--optimizers: expected a comma-separated list, e.g. sgd,adam,kfac-reduce');
  const seen = new Set<string>();
  return ids.map((id) => {
    if (!(OPTIMIZER_IDS as readonly string[]).includes(id)) {
      throw new LabArgsError(`--optimizers: unknown optimizer ${JSON.stringify(id)} (known: ${OPTIMIZER_IDS.join(', ')})`);
    }
    if (seen.has(id)) throw new LabArgsError(`--optimizers: ${id} is listed twice`);
    seen.add(id);
    const entry = preset.find((e) => e.id === id);
    return entry ? structuredClone(entry) : { id: id as OptimizerId };
  });
}

/** Apply "group.key=value": optimizer groups to the matching runs' hyper, schedule/clip to every run. */
function applySet(optimizers: OptimizerEntry[], text: string): void {
  const parsed = parseAssignment(text);
  if (!parsed.ok) throw new LabArgsError(`--set ${parsed.error}`);
  const { group, key, value } = parsed.assignment;
  if (group === 'schedule' || group === 'clip') {
    for (const entry of optimizers) entry[group] = { ...entry[group], [key]: value };
    return;
  }
  const targets = optimizers.filter((e) => e.id === group);
  if (targets.length === 0) {
    throw new LabArgsError(`--set ${text}: ${group} is not among the runs (${optimizers.map((e) => e.id).join(', ')})`);
  }
  for (const entry of targets) entry.hyper = { ...entry.hyper, [key]: value };
}

export function parseLabArgs(argv: readonly string[]): LabArgs {
  const { values, sets, sweeps: sweepTexts, switches } = tokenize(argv);
  if (switches.has('help')) return { kind: 'help' };
  if (switches.has('list')) return { kind: 'list' };

  const task = values.task;
  if (task === undefined) throw new LabArgsError(`--task is required (known: ${TASK_IDS.join(', ')})`);
  if (!isTaskId(task)) throw new LabArgsError(`--task: unknown task ${JSON.stringify(task)} (known: ${TASK_IDS.join(', ')})`);
  const backend = values.backend ?? 'webgpu';
  if (backend !== 'webgpu' && backend !== 'wasm' && backend !== 'cpu')
    throw new LabArgsError(`--backend: expected webgpu, wasm or cpu, got ${JSON.stringify(backend)}`);

  const preset = presetConfig(task);
  const config: ExperimentConfig = {
    ...preset,
    optimizers: selectOptimizers(preset.optimizers, values.optimizers),
  };
  if (values.steps !== undefined) config.steps = parseInteger('steps', values.steps);
  if (values.seed !== undefined) config.seed = parseInteger('seed', values.seed);
  if (values['batch-size'] !== undefined) config.batchSize = parseInteger('batch-size', values['batch-size']);
  if (values['eval-interval'] !== undefined) config.evalInterval = parseInteger('eval-interval', values['eval-interval']);
  if (values.target !== undefined) config.target = parseTarget(values.target);
  for (const text of sets) applySet(config.optimizers, text);

  // The runner's own check (ranges, combinations); its field names map back onto the flags.
  const check = validateConfig(config);
  if (!check.ok) throw new LabArgsError(check.errors.map(flagNames).join('\n'));
  const sweeps = parseSweeps(sweepTexts, config.optimizers);

  return {
    kind: 'run',
    config,
    backend,
    requireWebGPU: values.backend === 'webgpu',
    json: values.json ?? null,
    csv: values.csv ?? null,
    sweeps,
  };
}

function parseSweeps(texts: readonly string[], optimizers: readonly OptimizerEntry[]): SweepAxis[] {
  const axes: SweepAxis[] = [];
  for (const text of texts) {
    let axis: SweepAxis;
    try {
      axis = parseSweep(text);
    } catch (e) {
      if (e instanceof SweepError) throw new LabArgsError(`--sweep ${e.message}`);
      throw e;
    }
    if (!optimizers.some((o) => o.id === axis.group)) {
      throw new LabArgsError(`--sweep ${text}: ${axis.group} is not among the runs (${optimizers.map((e) => e.id).join(', ')})`);
    }
    if (axes.some((a) => a.group === axis.group && a.key === axis.key))
      throw new LabArgsError(`--sweep ${axis.group}.${axis.key}: given twice`);
    axes.push(axis);
  }
  for (const id of new Set(axes.map((a) => a.group))) {
    const n = gridPoints(axes.filter((a) => a.group === id)).length;
    if (n > MAX_TRIALS) throw new LabArgsError(`--sweep: ${n} grid points for ${id}, at most ${MAX_TRIALS}`);
  }
  return axes;
}

const FIELD_FLAGS: Record<string, string> = {
  batchSize: '--batch-size',
  steps: '--steps',
  seed: '--seed',
  evalInterval: '--eval-interval',
};

function flagNames(message: string): string {
  const field = message.slice(0, message.indexOf(':'));
  return field in FIELD_FLAGS ? `${FIELD_FLAGS[field]}${message.slice(field.length)}` : message;
}

/** The text of --list: tasks and optimizers (and the setting groups --set accepts). */
export function listText(): string {
  const lines = ['tasks:'];
  const idWidth = Math.max(...TASK_IDS.map((id) => id.length));
  for (const id of TASK_IDS) lines.push(`  ${id.padEnd(idWidth)}  ${TASKS[id].description} [${TASKS[id].model}]`);
  lines.push('', 'optimizers:');
  const groupWidth = Math.max(...GROUP_IDS.map((id) => id.length));
  for (const id of OPTIMIZER_IDS) lines.push(`  ${id.padEnd(groupWidth)}  ${groupSpec(id).label}`);
  lines.push('', 'settings for every run (--set group.key=value):');
  for (const id of GROUP_IDS.filter((g) => groupSpec(g).kind === 'setting'))
    lines.push(`  ${id.padEnd(groupWidth)}  ${groupSpec(id).label}`);
  return lines.join('\n');
}
