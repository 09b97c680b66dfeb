// The experiment setup: task and preset, the experiment's settings, and the runs to compare, each
// with its hyperparameters from the shared schema. Every change is validated as the runner would
// (plus the lab's label rules); messages appear next to the fields they name and in a summary.
// onChange receives every edit, valid or not: the caller keeps Start disabled while
// isValidConfig(config) is false. disabled (during a run) makes every control read-only.
import { useMemo } from 'react';
import type { ExperimentConfig } from '../../engine/lab/experiment-config.ts';
import { ExperimentFields } from './ExperimentFields.tsx';
import { RunList } from './RunList.tsx';
import { fieldDomId, messagesAt, messagePath, pathAncestors, validateSetup } from './setup-model.ts';
import { TaskPicker } from './TaskPicker.tsx';
import './setup.css';

export { isValidConfig } from './config-checks.ts';

export interface SetupPanelProps {
  config: ExperimentConfig;
  onChange: (config: ExperimentConfig) => void;
  disabled: boolean;
}

export function SetupPanel({ config, onChange, disabled }: SetupPanelProps) {
  const validation = useMemo(() => validateSetup(config), [config]);
  return (
    <section className="card setup" aria-labelledby="setup-heading" data-testid="setup-panel" data-valid={validation.ok}>
      <h2 id="setup-heading">Experiment</h2>
      {disabled && <p className="notice setup-locked">The settings are locked while the experiment runs. Reset it to change them.</p>}
      <fieldset className="setup-fieldset" disabled={disabled}>
        <legend className="visually-hidden">Experiment settings</legend>
        <TaskPicker config={config} onChange={onChange} messages={messagesAt(validation, 'task')} />
        <ExperimentFields config={config} onChange={onChange} validation={validation} />
        <RunList config={config} onChange={onChange} validation={validation} />
      </fieldset>
      <ValidationSummary errors={validation.errors} />
    </section>
  );
}

/** Move focus to the control a message names (or, for a field not shown, its run), opening the groups that hide it. */
function focusField(path: string): void {
  const element = pathAncestors(path)
    .map((p) => document.getElementById(fieldDomId(p)))
    .find((e) => e !== null);
  if (!element) return;
  for (let node = element.parentElement; node; node = node.parentElement) {
    if (node instanceof HTMLDetailsElement) node.open = true;
  }
  element.focus();
}

function ValidationSummary({ errors }: { errors: readonly string[] }) {
  return (
    <div className="setup-summary" data-testid="setup-summary">
      <p className={errors.length > 0 ? 'verdict verdict-fail' : 'verdict verdict-ok'} aria-live="polite">
        {errors.length === 0
          ? 'The experiment is valid.'
          : `${errors.length} ${errors.length === 1 ? 'problem' : 'problems'} to fix before the experiment can start:`}
      </p>
      {errors.length > 0 && (
        <ul className="setup-summary-list">
          {errors.map((message, i) => {
            const path = messagePath(message);
            return (
              <li key={`${i}:${message}`}>
                {path ? (
                  <button type="button" className="setup-link-button" onClick={() => focusField(path)}>
                    {message}
                  </button>
                ) : (
                  message
                )}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
