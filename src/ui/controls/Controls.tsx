// Start / pause / resume, single step and reset, with the keyboard shortcuts.
import { useMemo } from 'react';
import { useLabUi } from '../lab/lab-store.ts';
import { SHORTCUT_HELP } from './keyboard.ts';
import { useShortcuts } from './useShortcuts.ts';

export function Controls({ configValid }: { configValid: boolean }) {
  const status = useLabUi((s) => s.status);
  const backendReady = useLabUi((s) => s.backend !== null);
  const { start, pause, resume, step, reset } = useLabUi.getState();
  const live = status === 'running' || status === 'paused' || status === 'preparing';
  const canStart = backendReady && configValid && !live;

  const handlers = useMemo(
    () => ({
      toggle: () => {
        const s = useLabUi.getState();
        if (s.status === 'running') s.pause();
        else if (s.status === 'paused') s.resume();
        else if (s.backend && (s.status === 'idle' || s.status === 'done')) s.start();
      },
      step: () => useLabUi.getState().step(),
      reset: () => useLabUi.getState().reset(),
    }),
    [],
  );
  useShortcuts(handlers);

  return (
    <section className="card controls" aria-labelledby="controls-heading">
      <h2 id="controls-heading">Run</h2>
      <div className="button-row">
        {status === 'running' ? (
          <button type="button" onClick={pause} data-testid="pause">
            Pause
          </button>
        ) : status === 'paused' ? (
          <button type="button" onClick={resume} data-testid="resume">
            Resume
          </button>
        ) : (
          <button type="button" className="primary" onClick={() => start()} disabled={!canStart} data-testid="start">
            {status === 'done' ? 'Start again' : 'Start'}
          </button>
        )}
        <button
          type="button"
          onClick={step}
          disabled={!backendReady || status === 'running' || status === 'preparing' || (!live && !configValid)}
          data-testid="step"
        >
          Step
        </button>
        <button type="button" onClick={reset} disabled={status === 'idle'} data-testid="reset">
          Reset
        </button>
      </div>
      <p className="status-line" data-testid="run-status" data-status={status}>
        {statusText(status, backendReady, configValid)}
      </p>
      <details className="shortcuts">
        <summary>Keyboard shortcuts</summary>
        <dl>
          {SHORTCUT_HELP.map(([key, what]) => (
            <div key={key}>
              <dt>
                <kbd>{key}</kbd>
              </dt>
              <dd>{what}</dd>
            </div>
          ))}
        </dl>
        <p>They do not fire while a field, button or slider has the focus.</p>
      </details>
    </section>
  );
}

function statusText(status: string, backendReady: boolean, configValid: boolean): string {
  if (!backendReady) return 'Opening the compute backend…';
  switch (status) {
    case 'preparing':
      return 'Preparing: loading data and building the models…';
    case 'running':
      return 'Training.';
    case 'paused':
      return 'Paused. Step advances every run by one step.';
    case 'done':
      return 'Finished. Change the setup or start again.';
    default:
      return configValid ? 'Ready.' : 'Fix the setup to start.';
  }
}
