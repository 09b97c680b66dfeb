// The runs to compare: one editor per optimizer entry, and adding (any optimizer, repeats allowed),
// duplicating and removing runs, up to MAX_RUNS.
import { useState } from 'react';
import { MAX_RUNS, type ExperimentConfig } from '../../engine/lab/experiment-config.ts';
import { OPTIMIZER_IDS, SCHEMA, type OptimizerId } from '../../engine/optim/schema.ts';
import { FieldMessages } from './fields.tsx';
import { OptimizerEditor } from './OptimizerEditor.tsx';
import { addRun, canAddRun, defaultLabels, duplicateRun, fieldDomId, messagesAt, removeRun, type SetupValidation } from './setup-model.ts';

interface RunListProps {
  config: ExperimentConfig;
  onChange: (config: ExperimentConfig) => void;
  validation: SetupValidation;
}

interface RunKeys {
  keys: number[];
  next: number;
}

function freshKeys(count: number, next: number): RunKeys {
  return { keys: Array.from({ length: count }, (_, i) => next + i), next: next + count };
}

export function RunList({ config, onChange, validation }: RunListProps) {
  const count = config.optimizers.length;
  // React keys that follow a run when another is removed or duplicated, so open groups and typed
  // text stay with their run; a change of the run count from outside (a preset) starts afresh.
  const [runKeys, setRunKeys] = useState(() => freshKeys(count, 0));
  let keys = runKeys.keys;
  if (keys.length !== count) {
    const fresh = freshKeys(count, runKeys.next);
    setRunKeys(fresh);
    keys = fresh.keys;
  }
  const [toAdd, setToAdd] = useState<OptimizerId>('kfac-reduce');
  const labels = defaultLabels(config);
  const full = !canAddRun(config);
  const addId = fieldDomId('optimizers-add');

  const edit = (next: ExperimentConfig, nextKeys: number[], used: number) => {
    setRunKeys({ keys: nextKeys, next: runKeys.next + used });
    onChange(next);
  };

  return (
    <section className="setup-runs" aria-labelledby="setup-runs-heading">
      <h3 id="setup-runs-heading">
        Optimizers to compare ({count} of {MAX_RUNS})
      </h3>
      <p className="setup-hint">
        Every run starts from the same initial weights and sees the same batches in the same order, so differences come from the optimizer
        alone. The same optimizer may appear twice with different settings.
      </p>
      <FieldMessages id={`${fieldDomId('optimizers')}-error`} messages={messagesAt(validation, 'optimizers')} />
      {config.optimizers.map((_, index) => (
        <OptimizerEditor
          key={keys[index]}
          config={config}
          index={index}
          onChange={onChange}
          validation={validation}
          defaultLabel={labels[index]}
          onDuplicate={
            full
              ? undefined
              : () => edit(duplicateRun(config, index), [...keys.slice(0, index + 1), runKeys.next, ...keys.slice(index + 1)], 1)
          }
          onRemove={
            count <= 1
              ? undefined
              : () =>
                  edit(
                    removeRun(config, index),
                    keys.filter((_, i) => i !== index),
                    0,
                  )
          }
        />
      ))}
      <div className="setup-add">
        <div className="setup-field">
          <label htmlFor={addId}>Add a run with</label>
          <select id={addId} value={toAdd} onChange={(event) => setToAdd(event.target.value as OptimizerId)}>
            {OPTIMIZER_IDS.map((id) => (
              <option key={id} value={id}>
                {SCHEMA[id].label}
              </option>
            ))}
          </select>
        </div>
        <button
          type="button"
          className="button"
          disabled={full}
          aria-describedby={full ? `${addId}-full` : undefined}
          onClick={() => edit(addRun(config, toAdd), [...keys, runKeys.next], 1)}
        >
          Add run
        </button>
        {full && (
          <p id={`${addId}-full`} className="setup-hint">
            At most {MAX_RUNS} runs per experiment: remove one to add another.
          </p>
        )}
      </div>
    </section>
  );
}
