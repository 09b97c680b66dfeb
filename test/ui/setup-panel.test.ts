// The setup panel rendered to HTML in Node (no DOM needed): every preset renders with its facts and
// runs, changed values are marked, messages sit at their fields, labels are escaped text, and
// disabled locks the controls.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { ExperimentConfig } from '../../src/engine/lab/experiment-config.ts';
import { presetConfig } from '../../src/engine/lab/presets.ts';
import { TASK_IDS, TASKS } from '../../src/engine/lab/tasks.ts';
import { SetupPanel } from '../../src/ui/setup/SetupPanel.tsx';
import { fieldDomId, setLabel, setParam } from '../../src/ui/setup/setup-model.ts';

function render(config: ExperimentConfig, disabled = false): string {
  return renderToStaticMarkup(createElement(SetupPanel, { config, onChange: () => {}, disabled }));
}

/** The opening tag of the element with this id. */
function tagOf(html: string, id: string): string {
  const match = new RegExp(`<[a-z]+ [^>]*id="${id}"[^>]*>`).exec(html);
  expect(match, id).not.toBeNull();
  return match?.[0] ?? '';
}

describe('SetupPanel', () => {
  it.each(TASK_IDS)('renders the %s preset with its facts and runs', (task) => {
    const html = render(presetConfig(task));
    expect(html).toContain(TASKS[task].parameterCount.toLocaleString('en-US'));
    expect(html).toContain(`<strong>${TASKS[task].setting}</strong>`);
    expect(html).toContain('The experiment is valid.');
    expect(html).toContain('This is the task’s preset experiment');
    for (const [i, entry] of presetConfig(task).optimizers.entries()) expect(html).toContain(`Run ${i + 1}: ${entry.label}`);
    expect(html).not.toContain('aria-invalid');
  });

  it('marks changed hyperparameters and offers a reset', () => {
    const html = render(presetConfig('vit-mnist'));
    expect(tagOf(html, fieldDomId('optimizers[0].hyper.lr'))).toContain(
      `value="${String(presetConfig('vit-mnist').optimizers[0].hyper?.lr)}"`,
    );
    expect(html).toMatch(/class="setup-field is-changed" data-path="optimizers\[0\]\.hyper\.lr"/);
    expect(html).toContain('Reset<span class="visually-hidden"> Learning rate</span> to 0.1');
    expect(html).not.toMatch(/class="setup-field is-changed" data-path="optimizers\[0\]\.hyper\.momentum"/);
  });

  it('shows each message at its field and in the summary', () => {
    const config = setParam({ ...presetConfig('vit-mnist'), steps: NaN }, 1, 'hyper', 'lr', 100);
    const html = render(config);
    expect(html).toContain('2 problems to fix before the experiment can start');
    expect(html).toContain('optimizers[1].hyper.lr: 100 is out of range (allowed: 1e-6 to 1)');
    const lr = fieldDomId('optimizers[1].hyper.lr');
    expect(tagOf(html, lr)).toContain('aria-invalid="true"');
    expect(tagOf(html, lr)).toContain(`aria-describedby="${lr}-error`);
    expect(html).toContain(`id="${lr}-error" class="setup-error"><span aria-hidden="true">⚠ </span>100 is out of range`);
    expect(tagOf(html, fieldDomId('steps'))).toContain('aria-invalid="true"');
    expect(html).toContain('Custom experiment');
  });

  it('renders labels as escaped text, never markup', () => {
    const html = render(setLabel(presetConfig('mlp-spirals'), 0, '<img src=x onerror=alert(1)> & "q"'));
    expect(html).not.toContain('<img');
    expect(html).toContain('Run 1: &lt;img src=x onerror=alert(1)&gt; &amp; &quot;q&quot;');
    expect(html).toContain('must not contain &lt; or &gt;');
  });

  it('disabled makes every control read-only', () => {
    const html = render(presetConfig('gcn-node'), true);
    expect(html).toMatch(/<fieldset class="setup-fieldset" disabled="">/);
    expect(html).toContain('The settings are locked while the experiment runs');
    expect(html).toContain('Ignored here: every step trains on the whole graph.');
  });
});
