// What a lab task is: everything the engine, the CLI and the UI know about one task lives on its
// definition (title, model, K-FAC setting, whether it trains full-batch, its parameter count, its
// preset and its teaching text), next to the code that loads its data and builds its model.
// src/engine/lab/tasks.ts gathers the definitions; nothing else keeps a table keyed by task id.
import type { Backend } from '../../backend/backend.ts';
import type { Variable } from '../../autograd/variable.ts';
import type { LossTargets } from '../../nn/losses.ts';
import type { Module } from '../../nn/module.ts';
import type { TaskId } from '../tasks.ts';

/**
 * Which K-FAC approximation the task's weight sharing calls for (docs/kfac.md §2): 'expand' when
 * the loss has one term per shared position (tokens, nodes), 'reduce' when the model pools over
 * the positions before the loss (image and graph classification). Without weight sharing (the MLP)
 * both approximations coincide.
 */
export type TaskSetting = 'expand' | 'reduce';

/** One step's training batch on the device; dispose() frees what the batch uploaded. */
export interface TrainBatch {
  forward: () => Variable;
  loss: LossTargets;
  dispose(): void;
}

/**
 * A task's data on one backend, shared by every run of an experiment. M is the task's model class:
 * batch() and evaluate() take the model buildModel() made, so no caller has to cast it.
 */
export interface PlacedTask<M extends Module = Module> {
  readonly backend: Backend;
  /** A fresh model: the same seed gives the same initial weights. */
  buildModel(seed: number): M;
  /** The batch of these training-example indices (full-batch tasks ignore them: every step sees the whole graph). */
  batch(model: M, indices: Int32Array): TrainBatch;
  /** Top-1 accuracy on the fixed validation set (evaluation mode, no gradients). */
  evaluate(model: M): Promise<number>;
  /**
   * The batch of these validation-example indices (0 ≤ i < valSize), for tools that need the model's
   * outputs on held-out data (calibration, predictive uncertainty). Row tasks have it; full-batch tasks may not.
   */
  validationBatch?(model: M, indices: Int32Array): TrainBatch;
  dispose(): void;
}

/** A task's host data, loaded once. */
export interface LoadedTask {
  readonly definition: TaskDefinition;
  /** Examples the batch sampler draws from (1 for full-batch tasks). */
  readonly trainSize: number;
  readonly valSize: number;
  /** The same as definition.fullBatch (kept here for the runner's convenience). */
  readonly fullBatch: boolean;
  place(backend: Backend): PlacedTask;
}

/** K-FAC values of a preset (the other hyperparameters take their schema defaults). */
export interface KfacPreset {
  lr: number;
  damping: number;
  /** KL clip κ (0 = off); default the schema's. */
  klClip?: number;
}

/**
 * The task's default experiment: the four optimizers of the paper's comparison at values tuned with
 * the lab's own sweep (src/engine/lab/sweep.ts); presetConfig (src/engine/lab/presets.ts) expands it.
 */
export interface TaskPreset {
  steps: number;
  evalInterval: number;
  /** Validation accuracy the runs race to. */
  target: number;
  /** Learning rates of SGD (momentum 0.9) and Adam. */
  sgd: number;
  adam: number;
  expand: KfacPreset;
  reduce: KfacPreset;
}

/** What the weight-sharing dimension R is in the task's model (docs/kfac.md §1–2), for the explainer and its drawing. */
export interface TaskSharing {
  /** The shared dimension in the plural ("patches", "nodes"), or null when the model shares no weights (R = 1). */
  dim: string | null;
  /** What one example n is, for the drawing's N label. */
  nLabel: string;
  /** The drawing's R label. */
  rLabel: string;
  /** Where the sharing comes from in this model. */
  where: string;
  /** Why the loss puts the task in its setting, and what that means for the two approximations here. */
  consequence: string;
  /** Shared positions drawn per example (different lengths when R varies by example). */
  drawnRows: readonly number[];
  /** The drawing stands for more positions than it shows. */
  truncated: boolean;
}

/** The task's teaching text. */
export interface TaskTeaching {
  /** One sentence: what the task's K-FAC setting means for this model's weight sharing (the task picker). */
  setting: string;
  sharing: TaskSharing;
}

/** A task's definition with its id's literal type (what defineTask takes); TaskDefinition is the general one. */
export interface TaskFacts<Id extends string> {
  readonly id: Id;
  readonly title: string;
  /** One line for the task picker. */
  readonly description: string;
  readonly setting: TaskSetting;
  /** Architecture in a few words, e.g. "MLP 2-32-32-2" (also what a checkpoint records as its architecture). */
  readonly model: string;
  /** Trainable parameters of the model (test/lab/tasks.test.ts builds every model and checks it). */
  readonly parameterCount: number;
  /** Every step trains on the whole data set (GCN node classification); the batch size is ignored. */
  readonly fullBatch: boolean;
  readonly defaultBatchSize: number;
  readonly preset: TaskPreset;
  readonly teaching: TaskTeaching;
  load(): Promise<LoadedTask>;
}

export type TaskDefinition = TaskFacts<TaskId>;

/** Declare a task, keeping its id's literal type (src/engine/lab/tasks.ts derives TaskId from the ids). */
export function defineTask<const Id extends string>(definition: TaskFacts<Id>): TaskFacts<Id> {
  return definition;
}
