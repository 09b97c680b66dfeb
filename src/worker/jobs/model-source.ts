// Where a job's model comes from (docs/architecture.md): built here (a fresh model of a seed, or one
// trained by the job's recipe) or a checkpoint's bytes (trained on a page, stored or uploaded). The
// jobs that accept a checkpoint share its config reader, the decode-and-check of its task before
// anything is placed on the device (restored with the engine's modelFromCheckpoint), and the
// encoding of a model trained here as a checkpoint to hand back to the page.
import {
  captureCheckpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  type Checkpoint,
  type CheckpointMeta,
} from '../../engine/checkpoint/checkpoint.ts';
import type { TaskId } from '../../engine/lab/tasks.ts';
import type { Module } from '../../engine/nn/module.ts';
import { describeValue, JobConfigError, type ConfigProblems } from './job.ts';

export type CheckpointSource = { kind: 'checkpoint'; bytes: Uint8Array };

/** The job's own way to get a model besides a checkpoint: its kind, its fields for messages, its reader. */
export interface BuiltSource<S> {
  kind: string;
  /** The fields as the messages list them, e.g. "steps, seed". */
  fields: string;
  /** Reads the source's fields from `model`; `where` is e.g. "prune.model" (add ".seed" …). */
  read(model: Record<string, unknown>, where: string, problems: ConfigProblems): S | undefined;
}

/**
 * Reads `<job>.model`: `{ kind: '<built.kind>', … }` (read by `built`) or `{ kind: 'checkpoint',
 * bytes }`. Adds a message naming the field and returns undefined on a bad value.
 */
export function readModelSource<S>(
  value: unknown,
  job: string,
  built: BuiltSource<S>,
  problems: ConfigProblems,
): S | CheckpointSource | undefined {
  const where = `${job}.model`;
  if (typeof value !== 'object' || value === null) {
    problems.push(
      `${where}: expected { kind: '${built.kind}', ${built.fields} } or { kind: 'checkpoint', bytes }, got ${describeValue(value)}`,
    );
    return undefined;
  }
  const model = value as Record<string, unknown>;
  if (model.kind === built.kind) return built.read(model, where, problems);
  if (model.kind === 'checkpoint') {
    if (!(model.bytes instanceof Uint8Array)) {
      problems.push(`${where}.bytes: expected the checkpoint's bytes (a Uint8Array), got ${describeValue(model.bytes)}`);
      return undefined;
    }
    return { kind: 'checkpoint', bytes: model.bytes };
  }
  problems.push(`${where}.kind: expected '${built.kind}' or 'checkpoint', got ${describeValue(model.kind)}`);
  return undefined;
}

/**
 * The source's checkpoint, decoded and checked to be a model of `task` before anything is placed on
 * the device; null for a model built here. `expected` ends the mismatch message (default
 * `not of "<task>"`).
 */
export function sourceCheckpoint(
  source: { kind: string; bytes?: Uint8Array },
  job: string,
  task: TaskId,
  expected = `not of "${task}"`,
): Checkpoint | null {
  if (source.kind !== 'checkpoint' || !source.bytes) return null;
  const checkpoint = decodeCheckpoint(source.bytes);
  if (checkpoint.task !== task)
    throw new JobConfigError([`${job}.model: the checkpoint is a model of task "${checkpoint.task}", ${expected}`]);
  return checkpoint;
}

/** Who made the checkpoint, in a few words (its label, else its optimizer), or null. */
export function checkpointOrigin(checkpoint: Checkpoint): string | null {
  return checkpoint.origin?.label ?? checkpoint.origin?.optimizer ?? null;
}

/** A model trained here, as checkpoint bytes for the page (transfer their buffer). */
export async function encodeModel(model: Module, meta: CheckpointMeta): Promise<Uint8Array> {
  return encodeCheckpoint(await captureCheckpoint(model, meta));
}
