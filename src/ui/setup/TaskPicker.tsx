// The task and its preset: a select of the runner's tasks, what the chosen task is (description,
// model, parameter count, K-FAC setting with what it means for this model's weight sharing), and a
// button that loads the task's preset when the experiment differs from it.
import type { ExperimentConfig } from '../../engine/lab/experiment-config.ts';
import { presetConfig } from '../../engine/lab/presets.ts';
import { isTaskId, TASK_IDS, TASKS } from '../../engine/lab/tasks.ts';
import { FieldMessages } from './fields.tsx';
import { changeTask, fieldDomId, joinIds, formatCount, matchesPreset } from './setup-model.ts';

interface TaskPickerProps {
  config: ExperimentConfig;
  onChange: (config: ExperimentConfig) => void;
  messages: readonly string[];
}

export function TaskPicker({ config, onChange, messages }: TaskPickerProps) {
  const id = fieldDomId('task');
  const known = isTaskId(config.task);
  const task = known ? TASKS[config.task] : null;
  const isPreset = known && matchesPreset(config);
  return (
    <div className="setup-task">
      <div className="setup-field">
        <label htmlFor={id}>Task</label>
        <select
          id={id}
          value={config.task}
          aria-describedby={joinIds(messages.length > 0 && `${id}-error`, task && `${id}-description`)}
          aria-invalid={messages.length > 0 || undefined}
          onChange={(event) => {
            if (isTaskId(event.target.value)) onChange(changeTask(config, event.target.value));
          }}
        >
          {!known && <option value={config.task}>(unknown task)</option>}
          {TASK_IDS.map((taskId) => (
            <option key={taskId} value={taskId}>
              {TASKS[taskId].title}
            </option>
          ))}
        </select>
        <FieldMessages id={`${id}-error`} messages={messages} />
      </div>
      {task && (
        <>
          <p id={`${id}-description`} className="setup-task-description">
            {task.description}
          </p>
          <dl className="facts setup-facts">
            <dt>Model</dt>
            <dd>{task.model}</dd>
            <dt>Parameters</dt>
            <dd data-testid="parameter-count">{formatCount(task.parameterCount)}</dd>
            <dt>K-FAC setting</dt>
            <dd>
              <strong>{task.setting}</strong> — {task.teaching.setting}
            </dd>
          </dl>
          <div className="setup-preset" aria-live="polite">
            {isPreset ? (
              <p className="setup-hint">This is the task’s preset experiment (provisional settings, not yet tuned by a sweep).</p>
            ) : (
              <>
                <p className="setup-hint">Custom experiment: it differs from this task’s preset.</p>
                <button type="button" className="button setup-preset-button" onClick={() => onChange(presetConfig(task.id))}>
                  Load the preset for {task.title}
                </button>
              </>
            )}
          </div>
        </>
      )}
    </div>
  );
}
