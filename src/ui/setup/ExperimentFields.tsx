// The experiment's own settings: batch size, steps, seed, evaluation interval and the target.
import { MAX_BATCH_SIZE, MAX_STEPS, type ExperimentConfig } from '../../engine/lab/experiment-config.ts';
import { presetConfig } from '../../engine/lab/presets.ts';
import { isTaskId, TASKS } from '../../engine/lab/tasks.ts';
import { FieldMessages, NumberInput, PlainNumberField } from './fields.tsx';
import { fieldDomId, joinIds, messagesAt, type SetupValidation } from './setup-model.ts';

interface ExperimentFieldsProps {
  config: ExperimentConfig;
  onChange: (config: ExperimentConfig) => void;
  validation: SetupValidation;
}

const MAX_SEED = 0xffffffff;

export function ExperimentFields({ config, onChange, validation }: ExperimentFieldsProps) {
  const fullBatch = isTaskId(config.task) && TASKS[config.task].fullBatch;
  return (
    <div className="setup-grid">
      <PlainNumberField
        path="batchSize"
        label="Batch size"
        value={config.batchSize}
        onValue={(batchSize) => onChange({ ...config, batchSize })}
        min={1}
        max={MAX_BATCH_SIZE}
        hint={fullBatch ? 'Ignored here: every step trains on the whole graph.' : `Examples per step, 1 to ${MAX_BATCH_SIZE}.`}
        messages={messagesAt(validation, 'batchSize')}
      />
      <PlainNumberField
        path="steps"
        label="Steps"
        value={config.steps}
        onValue={(steps) => onChange({ ...config, steps })}
        min={1}
        max={MAX_STEPS}
        hint="Training steps per run."
        messages={messagesAt(validation, 'steps')}
      />
      <PlainNumberField
        path="seed"
        label="Seed"
        value={config.seed}
        onValue={(seed) => onChange({ ...config, seed })}
        min={0}
        max={MAX_SEED}
        hint="Sets the initial weights and the batch order, the same for every run."
        messages={messagesAt(validation, 'seed')}
      />
      <PlainNumberField
        path="evalInterval"
        label="Evaluate every (steps)"
        value={config.evalInterval}
        onValue={(evalInterval) => onChange({ ...config, evalInterval })}
        min={1}
        max={MAX_STEPS}
        hint="Validation accuracy is measured this often, and after the last step."
        messages={messagesAt(validation, 'evalInterval')}
      />
      <TargetField config={config} onChange={onChange} validation={validation} />
    </div>
  );
}

function TargetField({ config, onChange, validation }: ExperimentFieldsProps) {
  const checkboxId = fieldDomId('target');
  const valueId = fieldDomId('target.value');
  const messages = [
    ...messagesAt(validation, 'target'),
    ...messagesAt(validation, 'target.metric'),
    ...messagesAt(validation, 'target.value'),
  ];
  const errorId = `${valueId}-error`;
  const hintId = `${valueId}-hint`;
  const target = config.target ?? null;
  const presetTarget = isTaskId(config.task) ? presetConfig(config.task).target : null;
  return (
    <div className={`setup-field setup-target${messages.length > 0 ? ' is-invalid' : ''}`} data-path="target">
      <div className="setup-field-row setup-field-check">
        <input
          id={checkboxId}
          type="checkbox"
          className="setup-checkbox"
          checked={target !== null}
          onChange={(event) =>
            onChange({
              ...config,
              target: event.target.checked ? { metric: 'valAccuracy', value: presetTarget?.value ?? 0.9 } : null,
            })
          }
        />
        <label htmlFor={checkboxId}>Report steps and time to a target</label>
      </div>
      {target !== null && (
        <>
          <label htmlFor={valueId}>Target validation accuracy</label>
          <NumberInput
            id={valueId}
            value={target.value}
            onValue={(value) => onChange({ ...config, target: { metric: 'valAccuracy', value } })}
            min={0}
            max={1}
            step={0.01}
            describedBy={joinIds(messages.length > 0 && errorId, hintId)}
            invalid={messages.length > 0}
          />
          <p id={hintId} className="setup-hint">
            A fraction from 0 to 1 (0.9 = 90% correct). The results compare the steps and time each run needs to reach it.
          </p>
        </>
      )}
      <FieldMessages id={errorId} messages={messages} />
    </div>
  );
}
