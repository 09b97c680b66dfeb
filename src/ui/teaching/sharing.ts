// What the weight-sharing dimension R is in each task's model, and which K-FAC setting its loss is
// in (docs/kfac.md §1–2), for the explainer and its drawing. The text lives on the task's definition
// (src/engine/lab/tasks/, `teaching.sharing`); this adds what the drawing derives from it.
import { TASKS, type TaskId, type TaskSharing as TaskSharingText } from '../../engine/lab/tasks.ts';

export interface TaskSharing extends TaskSharingText {
  /** 'none' when R = 1 everywhere (dim null) and the two approximations coincide; else the task's setting. */
  setting: 'expand' | 'reduce' | 'none';
}

/** The task's weight sharing as the explainer shows it. */
export function taskSharing(task: TaskId): TaskSharing {
  const definition = TASKS[task];
  const text = definition.teaching.sharing;
  return { ...text, setting: text.dim === null ? 'none' : definition.setting };
}

/** Factor time of one layer (N = 32, dIn = dOut = 64) on SwiftShader, 2026-11-28: bench/results/kfac.json. */
export const FACTOR_BENCH = {
  device: 'a software GPU (SwiftShader)',
  fromR: 4,
  toR: 256,
  expandMs: [1.74, 62.58],
  reduceMs: [1.45, 9.93],
} as const;
