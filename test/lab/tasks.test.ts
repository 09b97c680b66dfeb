// Every fact on a task's definition against the task itself: the ids derive from the definitions,
// the stated parameter count is the built model's, a full-batch task trains on the whole data set
// whatever the indices, the preset is a valid experiment, and the teaching text is in the task's setting.
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { validateConfig } from '../../src/engine/lab/experiment-config.ts';
import { presetConfig } from '../../src/engine/lab/presets.ts';
import { isTaskId, loadTask, TASK_IDS, TASKS } from '../../src/engine/lab/tasks.ts';

const cpu = new CpuBackend();
afterAll(() => cpu.destroy());

describe('the task list', () => {
  it('TASK_IDS are the keys of TASKS, each definition under its own id', () => {
    expect(TASK_IDS).toEqual(Object.keys(TASKS));
    expect(new Set(TASK_IDS).size).toBe(TASK_IDS.length);
    for (const id of TASK_IDS) {
      expect(TASKS[id].id).toBe(id);
      expect(isTaskId(id)).toBe(true);
    }
    for (const bad of ['resnet', 'toString', '__proto__', '', 3, null]) expect(isTaskId(bad)).toBe(false);
  });
});

describe.each(TASK_IDS)('%s', (id) => {
  const definition = TASKS[id];

  it('the stated parameter count and full-batch flag match the task as built on the CPU', async () => {
    const task = await loadTask(id);
    expect(task.definition).toBe(definition);
    expect(task.fullBatch).toBe(definition.fullBatch);
    const placed = task.place(cpu);
    const model = placed.buildModel(1);
    try {
      expect(model.parameterCount()).toBe(definition.parameterCount);
      if (definition.fullBatch) {
        // Whatever the indices, the batch is the whole data set: the same loss targets every time.
        expect(task.trainSize).toBe(1);
        const [a, b] = [placed.batch(model, Int32Array.of(0)), placed.batch(model, Int32Array.of(5, 9))];
        expect(b.loss.targets).toBe(a.loss.targets);
        a.dispose();
        b.dispose();
      } else {
        const batch = placed.batch(model, Int32Array.of(0, 1, 2));
        expect(batch.loss.targets.shape[0]).toBe(3);
        batch.dispose();
      }
    } finally {
      model.dispose();
      placed.dispose();
    }
  });

  it('the preset is a valid experiment of this task with the task’s batch size', () => {
    const config = presetConfig(id);
    expect(config.task).toBe(id);
    expect(config.batchSize).toBe(definition.defaultBatchSize);
    expect(config.steps).toBe(definition.preset.steps);
    expect(validateConfig(config)).toMatchObject({ ok: true });
  });

  it('the teaching text names the task’s setting in one sentence and draws its sharing', () => {
    const { setting, sharing } = definition.teaching;
    expect(setting.split(/\. [A-Z]/)).toHaveLength(1);
    if (sharing.dim === null) {
      expect(setting).toMatch(/same factors/);
      expect(sharing.drawnRows.every((r) => r === 1)).toBe(true);
    } else {
      expect(setting).toContain(`${definition.setting} setting`);
      expect(sharing.consequence).toContain(`${definition.setting} setting`);
      expect(sharing.rLabel).toContain(sharing.dim);
    }
  });
});
