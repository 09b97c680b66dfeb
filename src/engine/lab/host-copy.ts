// The periodic host copy of a run (docs/architecture.md): its parameters, its optimizer's exported
// state (optim/host-state.ts) and where its result stood, so that a run interrupted by a lost device
// continues on a new backend from the copy's step instead of stopping. What an optimizer carries is
// its own business (SGD: velocities; Adam: moments and update counts; K-FAC: steps taken, damping,
// velocities, running factors and its fallback's state — its inverses are recomputed on the first
// step after the restore).
import type { NamedParameter } from '../nn/module.ts';
import { readToHost, toDevice, type HostTensor, type OptimizerHostState } from '../optim/host-state.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { RunResult } from './results.ts';

/** Steps between two host copies in the lab: a lost device costs at most this many steps per run. */
export const HOST_COPY_INTERVAL = 25;

export interface RunHostCopy {
  /** Steps completed when the copy was taken; the resumed run's next step is this (0-based). */
  step: number;
  /** The run's training time then (ms). */
  elapsedMs: number;
  params: { name: string; value: HostTensor }[];
  optimizer: OptimizerHostState;
  /** The result as it stood: history entries, phase totals, target. */
  historyLength: number;
  phaseMs: Record<string, number>;
  stepsToTarget: number | null;
  timeToTargetMs: number | null;
}

/** Where one run of a new experiment starts: from a copy (null: from the initial weights), or already finished. */
export type ResumePoint = { kind: 'resume'; copy: RunHostCopy | null; result: RunResult } | { kind: 'finished'; result: RunResult };

export async function captureRun(
  params: readonly NamedParameter[],
  optimizer: Optimizer,
  step: number,
  elapsedMs: number,
  result: RunResult,
): Promise<RunHostCopy> {
  // The optimizer's export is queued before the parameters' read, so both reads wait on one device flush.
  const exported = optimizer.exportState(params);
  const values = await readToHost(params.map((p) => p.variable.value));
  return {
    step,
    elapsedMs,
    params: params.map((p, i) => ({ name: p.name, value: values[i] })),
    optimizer: await exported,
    historyLength: result.history.step.length,
    phaseMs: { ...result.phaseMs },
    stepsToTarget: result.stepsToTarget,
    timeToTargetMs: result.timeToTargetMs,
  };
}

/** Put a copy's parameters and optimizer state into a freshly built run (same config, any backend). */
export function restoreRun(params: readonly NamedParameter[], optimizer: Optimizer, copy: RunHostCopy): void {
  const byName = new Map(copy.params.map((p) => [p.name, p.value]));
  for (const { name, variable } of params) {
    const value = byName.get(name);
    if (!value) throw new Error(`restore: the host copy has no parameter "${name}"`);
    if (value.shape.length !== variable.shape.length || value.shape.some((d, i) => d !== variable.shape[i])) {
      throw new Error(
        `restore: parameter "${name}" is [${value.shape.join(', ')}] in the host copy, [${variable.shape.join(', ')}] in the model`,
      );
    }
    variable.assign(toDevice(variable.backend, { ...value, dtype: variable.value.dtype }));
  }
  optimizer.importState(params, copy.optimizer);
}
