// The Influence page (docs/curvature-tools.md §3): which training images made an MNIST classifier
// say what it says about one test image? Train a classifier here (or take one from the race, this
// browser or a file), pick a test image or draw a digit, and see the training images that helped and
// hurt it most under the gradient dot product, K-FAC and EK-FAC side by side, with their scores. The
// LDS panel checks the scores against retraining on random halves of the data. The diffusion
// model's section (engineer D's component) sits below. Every computation is a worker job.
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { ChartFigure } from '../../charts/ChartFigure.tsx';
import { usePlot } from '../../charts/use-plot.ts';
import { formatValue } from '../../charts/data-table.ts';
import { MessageList } from '../../components/Messages.tsx';
import { CHECKPOINT_EXTENSION, describeCheckpoint } from '../../checkpoints/checkpoint-library.ts';
import { INFLUENCE_TASKS } from '../../../engine/tools/influence/classifier.ts';
import { TASKS } from '../../../engine/lab/tasks.ts';
import type { RankedImage } from '../../../worker/jobs/influence-job.ts';
import { DiffusionInfluence } from './diffusion/DiffusionInfluence.tsx';
import { buildLdsFigure, ldsSummary, ldsTable, METHOD_COLORS, METHOD_LABELS, topOverlap } from './influence-figures.ts';
import { installInfluenceHook } from './influence-hook.ts';
import { useInfluencePage, type JobView } from './influence-store.ts';
import type { InfluenceSettings } from './influence-url.ts';
import './influence-page.css';

export function InfluencePage({ query }: { query: string }) {
  const init = useInfluencePage((s) => s.init);
  useEffect(() => init(query), [init, query]);
  useEffect(installInfluenceHook, []);
  const scores = useInfluencePage((s) => s.scores);
  return (
    <div className="influence-page">
      <Intro />
      <PageMessages />
      <div className="influence-layout">
        <SetupCard />
        <QueryCard />
      </div>
      <RunCard />
      {scores && <ScoresView />}
      <LdsPanel />
      <Caveats />
      <section className="card influence-diffusion" aria-labelledby="influence-diffusion-heading">
        <h3 id="influence-diffusion-heading">Diffusion model (2-D)</h3>
        <DiffusionInfluence />
      </section>
    </div>
  );
}

function Intro() {
  return (
    <div className="page-intro">
      <h2>Influence: which training images made the model say this?</h2>
      <p>
        An <strong>influence function</strong> estimates how a prediction would change if one training image were removed and the model
        retrained: score(q, n) = ∇m<sub>q</sub>ᵀ (H + λI)⁻¹ ∇ℓ<sub>n</sub>, where m<sub>q</sub> is the loss on the test image q, ℓ
        <sub>n</sub> the loss of training image n and H the curvature of the training loss. A <strong>positive</strong> score means n{' '}
        <strong>helped</strong> (removing it would raise the test loss), a negative one that it <strong>hurt</strong>. H decides what
        “similar” means: with H = 0 (identity) it is a plain gradient dot product; K-FAC and EK-FAC weigh each direction by the curvature,
        so images that move the model only along flat, unimportant directions count less.
      </p>
    </div>
  );
}

function Caveats() {
  return (
    <section className="card influence-caveats" aria-labelledby="influence-caveats-heading">
      <h3 id="influence-caveats-heading">How to read these scores (and their limits)</h3>
      <ul>
        <li>
          The score is a <strong>first-order, local</strong> estimate: it assumes the model sits at a minimum and that removing one image
          moves it a little. Networks trained for a few hundred steps are not at a minimum, and retraining starts from random weights, so
          the estimate is about the <em>expected</em> effect, not any one retraining.
        </li>
        <li>
          λ (damping) matters: a large λ makes every method approach the gradient dot product; a small one trusts the curvature’s flat
          directions, where K-FAC is least accurate. Here λ = (your factor) × the mean eigenvalue of K-FAC’s curvature.
        </li>
        <li>
          K-FAC treats layers as independent and each layer’s curvature as a Kronecker product; EK-FAC keeps K-FAC’s eigenvectors but refits
          the eigenvalues to the exact curvature’s diagonal in that basis, which is never a worse fit.
        </li>
        <li>
          The <strong>LDS</strong> (linear datamodelling score) is the honest check: retrain on many random halves of the data, and ask
          whether the sum of the removed images’ scores ranks the test loss changes correctly (Spearman). The ceiling is how well two
          independent retrainings agree with each other: no attribution can beat the noise of training itself.
        </li>
        <li>
          Only the images the model was scored on (the first N of the training set) are ranked; a checkpoint trained on more data is
          attributed to those N only, and its LDS retrains the page’s recipe, not the checkpoint’s own.
        </li>
      </ul>
    </section>
  );
}

function PageMessages() {
  const messages = useInfluencePage((s) => s.messages);
  const urlErrors = useInfluencePage((s) => s.urlErrors);
  const dismiss = useInfluencePage((s) => s.dismissMessage);
  return (
    <MessageList
      messages={messages}
      urlErrors={urlErrors}
      onDismiss={dismiss}
      testId="influence-messages"
      urlErrorsTestId="influence-url-errors"
    />
  );
}

/** A 14×14 grey-level digit drawn at `size` px (pixelated). */
export function Digit({ pixels, size = 56, label }: { pixels: Uint8Array | number[]; size?: number; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    const context = canvas?.getContext('2d');
    if (!canvas || !context) return;
    const image = context.createImageData(14, 14);
    for (let i = 0; i < 196; i++) {
      const v = 255 - (pixels[i] ?? 0);
      image.data.set([v, v, v, 255], i * 4);
    }
    context.putImageData(image, 0, 0);
  }, [pixels]);
  return <canvas ref={ref} width={14} height={14} className="digit" style={{ width: size, height: size }} role="img" aria-label={label} />;
}

function NumberField(props: {
  label: string;
  value: number;
  min: number;
  max: number;
  step?: number;
  disabled: boolean;
  testId: string;
  help?: string;
  onChange: (v: number) => void;
}) {
  const id = useId();
  // The text being typed (e.g. "0." on the way to "0.05"); a new value from outside replaces it.
  const [text, setText] = useState(String(props.value));
  const [shown, setShown] = useState(props.value);
  if (shown !== props.value) {
    setShown(props.value);
    setText(String(props.value));
  }
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type="number"
        min={props.min}
        max={props.max}
        step={props.step ?? 1}
        value={text}
        disabled={props.disabled}
        data-testid={props.testId}
        onChange={(e) => {
          setText(e.currentTarget.value);
          const v = Number(e.currentTarget.value);
          if (e.currentTarget.value !== '' && v >= props.min && v <= props.max && (props.step !== undefined || Number.isInteger(v)))
            props.onChange(v);
        }}
      />
      {props.help && <p className="field-help">{props.help}</p>}
    </div>
  );
}

function useBusy(): boolean {
  const a = useInfluencePage((s) => s.scoresJob?.status === 'running');
  const b = useInfluencePage((s) => s.ldsJob?.status === 'running');
  return a || b;
}

function SetupCard() {
  const settings = useInfluencePage((s) => s.settings);
  const setSettings = useInfluencePage((s) => s.setSettings);
  const source = useInfluencePage((s) => s.source);
  const setSource = useInfluencePage((s) => s.setSource);
  const model = useInfluencePage((s) => s.model);
  const stored = useInfluencePage((s) => s.stored);
  const openStored = useInfluencePage((s) => s.openStored);
  const upload = useInfluencePage((s) => s.upload);
  const keep = useInfluencePage((s) => s.keepInBrowser);
  const download = useInfluencePage((s) => s.downloadModel);
  const busy = useBusy();
  const taskId = useId();
  const set = (partial: Partial<InfluenceSettings>) => setSettings(partial);
  const usable = stored.filter((c) => c.summary.task === 'mlp-mnist' || c.summary.task === 'cnn-mnist');
  return (
    <section className="card influence-setup" aria-labelledby="influence-setup-heading">
      <h3 id="influence-setup-heading">Model</h3>
      <div className="field">
        <label htmlFor={taskId}>Classifier</label>
        <select
          id={taskId}
          value={settings.task}
          disabled={busy}
          data-testid="influence-task"
          onChange={(e) => set({ task: e.currentTarget.value as InfluenceSettings['task'] })}
        >
          {INFLUENCE_TASKS.map((id) => (
            <option key={id} value={id}>
              {TASKS[id].title}
            </option>
          ))}
        </select>
        <p className="field-help">{TASKS[settings.task].model}</p>
      </div>
      <fieldset className="field" disabled={busy}>
        <legend>Where the model comes from</legend>
        <label className="radio">
          <input
            type="radio"
            name="influence-source"
            checked={source === 'train'}
            onChange={() => setSource('train')}
            data-testid="influence-source-train"
          />{' '}
          Train it here (Adam, batch 64, lr 2·10⁻³ on the first N training images)
        </label>
        <label className="radio">
          <input
            type="radio"
            name="influence-source"
            checked={source === 'checkpoint'}
            disabled={!model}
            onChange={() => setSource('checkpoint')}
            data-testid="influence-source-checkpoint"
          />{' '}
          A checkpoint {model ? `: ${model.from}` : '(open one below, or take one from the race)'}
        </label>
      </fieldset>
      <div className="field-row">
        <NumberField
          label="Training images N"
          value={settings.examples}
          min={8}
          max={4096}
          disabled={busy}
          testId="influence-examples"
          onChange={(v) => set({ examples: v })}
          help="Scored, and trained on."
        />
        <NumberField
          label="Training steps"
          value={settings.steps}
          min={1}
          max={20000}
          disabled={busy}
          testId="influence-steps"
          onChange={(v) => set({ steps: v })}
          help="Also each LDS retraining's."
        />
        <NumberField
          label="Seed"
          value={settings.seed}
          min={0}
          max={2 ** 31 - 1}
          disabled={busy}
          testId="influence-seed"
          onChange={(v) => set({ seed: v })}
        />
        <NumberField
          label="Damping (× mean eigenvalue)"
          value={settings.damping}
          min={1e-6}
          max={1e6}
          step={0.01}
          disabled={busy}
          testId="influence-damping"
          onChange={(v) => set({ damping: v })}
        />
      </div>
      <div className="influence-checkpoints">
        {usable.length > 0 && (
          <div className="field">
            <span>Kept in this browser:</span>
            <ul>
              {usable.map((c) => (
                <li key={c.id}>
                  <button type="button" className="link-button" disabled={busy} onClick={() => void openStored(c.id)}>
                    {c.name}
                  </button>
                </li>
              ))}
            </ul>
          </div>
        )}
        <label className="file-button">
          Open a checkpoint file…{' '}
          <input
            type="file"
            accept={CHECKPOINT_EXTENSION}
            disabled={busy}
            data-testid="influence-upload"
            onChange={(e) => {
              const file = e.currentTarget.files?.[0];
              if (file) void upload(file);
              e.currentTarget.value = '';
            }}
          />
        </label>
        {model && (
          <p className="field-help" data-testid="influence-model">
            Model: {describeCheckpoint(model.summary)} — {model.from}.{' '}
            <button type="button" className="link-button" onClick={() => void keep()}>
              Keep in this browser
            </button>{' '}
            <button type="button" className="link-button" onClick={download}>
              Download
            </button>
          </p>
        )}
      </div>
    </section>
  );
}

/** A 14×14 drawing pad: drag to paint (a soft round brush), right-drag or “Clear” to erase. */
function DrawingPad({ onUse, disabled }: { onUse: (pixels: number[], label: number | null) => void; disabled: boolean }) {
  const [pixels, setPixels] = useState<number[]>(() => Array(196).fill(0));
  const [label, setLabel] = useState<string>('auto');
  const drawing = useRef<0 | 1 | -1>(0);
  const labelId = useId();
  const paint = (e: React.PointerEvent<HTMLDivElement>) => {
    if (drawing.current === 0) return;
    const rect = e.currentTarget.getBoundingClientRect();
    const x = ((e.clientX - rect.left) / rect.width) * 14;
    const y = ((e.clientY - rect.top) / rect.height) * 14;
    setPixels((old) => {
      const next = [...old];
      for (let r = 0; r < 14; r++)
        for (let c = 0; c < 14; c++) {
          const d2 = (c + 0.5 - x) ** 2 + (r + 0.5 - y) ** 2;
          const ink = Math.max(0, 1 - d2 / 1.6);
          next[r * 14 + c] = drawing.current > 0 ? Math.min(1, next[r * 14 + c] + ink) : Math.max(0, next[r * 14 + c] - ink);
        }
      return next;
    });
  };
  return (
    <div className="drawing">
      <div
        className="drawing-pad"
        data-testid="influence-draw-pad"
        role="img"
        aria-label="Drawing pad, 14 by 14 pixels: drag to draw a digit"
        onPointerDown={(e) => {
          drawing.current = e.button === 2 ? -1 : 1;
          e.currentTarget.setPointerCapture(e.pointerId);
          paint(e);
        }}
        onPointerMove={paint}
        onPointerUp={() => (drawing.current = 0)}
        onContextMenu={(e) => e.preventDefault()}
      >
        {pixels.map((v, i) => (
          <span key={i} style={{ background: `rgb(${255 - 255 * v} ${255 - 255 * v} ${255 - 255 * v})` }} />
        ))}
      </div>
      <div className="drawing-actions">
        <label htmlFor={labelId}>Label</label>
        <select id={labelId} value={label} onChange={(e) => setLabel(e.currentTarget.value)}>
          <option value="auto">the model’s prediction</option>
          {Array.from({ length: 10 }, (_, d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </select>
        <button type="button" onClick={() => setPixels(Array(196).fill(0))}>
          Clear
        </button>
        <button
          type="button"
          disabled={disabled || pixels.every((v) => v === 0)}
          data-testid="influence-use-drawing"
          onClick={() => onUse(pixels, label === 'auto' ? null : Number(label))}
        >
          Use this drawing
        </button>
      </div>
    </div>
  );
}

function QueryCard() {
  const gallery = useInfluencePage((s) => s.gallery);
  const choice = useInfluencePage((s) => s.queryChoice);
  const chooseTest = useInfluencePage((s) => s.chooseTest);
  const chooseDrawing = useInfluencePage((s) => s.chooseDrawing);
  const settings = useInfluencePage((s) => s.settings);
  const busy = useBusy();
  return (
    <section className="card influence-query" aria-labelledby="influence-query-heading">
      <h3 id="influence-query-heading">Test image (the query)</h3>
      <p className="field-help">
        {choice.kind === 'test'
          ? `Test image #${choice.index} is chosen.`
          : `Your drawing is chosen (label: ${choice.label ?? 'the model’s prediction'}).`}
      </p>
      <div className="gallery" data-testid="influence-gallery">
        {gallery.length === 0 && <p className="field-help">Loading the test images…</p>}
        {gallery.map((g) => (
          <button
            key={g.index}
            type="button"
            className="gallery-item"
            aria-pressed={choice.kind === 'test' && choice.index === g.index}
            disabled={busy}
            onClick={() => chooseTest(g.index)}
            title={`test image #${g.index}, label ${g.label}`}
          >
            <Digit pixels={g.pixels} size={36} label={`test image ${g.index}, a ${g.label}`} />
          </button>
        ))}
      </div>
      <NumberField
        label="…or any test image by number"
        value={settings.query}
        min={0}
        max={511}
        disabled={busy}
        testId="influence-query-index"
        onChange={(v) => chooseTest(v)}
      />
      <details>
        <summary>Draw a digit instead</summary>
        <DrawingPad disabled={busy} onUse={chooseDrawing} />
      </details>
    </section>
  );
}

function JobProgressBar({ job, label, testId, onCancel }: { job: JobView; label: string; testId: string; onCancel: () => void }) {
  const p = job.progress;
  const total = p && p.total > 0 ? p.total : 1;
  const done = p ? Math.min(p.done, total) : 0;
  const text =
    job.status === 'running'
      ? `${p?.stage ?? 'starting'}: ${done} / ${total}`
      : job.status === 'done'
        ? `done in ${((job.elapsedMs ?? 0) / 1000).toFixed(1)} s`
        : job.status === 'cancelled'
          ? 'cancelled'
          : `failed: ${job.error ?? ''}`;
  return (
    <div className="job-progress" data-testid={testId} data-status={job.status}>
      <div className="job-progress-head">
        <strong>{label}</strong> <span>{text}</span>{' '}
        {job.status === 'running' && (
          <button type="button" onClick={onCancel} data-testid={`${testId}-cancel`}>
            Cancel
          </button>
        )}
      </div>
      <div
        role="progressbar"
        aria-label={`${label} progress`}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={done}
        aria-valuetext={text}
        className="bar"
      >
        <div className="bar-fill" style={{ width: `${job.status === 'done' ? 100 : (100 * done) / total}%` }} />
      </div>
    </div>
  );
}

function RunCard() {
  const run = useInfluencePage((s) => s.run);
  const job = useInfluencePage((s) => s.scoresJob);
  const cancel = useInfluencePage((s) => s.cancel);
  const exportJson = useInfluencePage((s) => s.exportJson);
  const hasResult = useInfluencePage((s) => s.scores !== null || s.lds !== null);
  const busy = useBusy();
  return (
    <section className="card influence-run">
      <div className="influence-run-actions">
        <button type="button" className="primary" disabled={busy} data-testid="influence-run" onClick={() => void run()}>
          Find the influential training images
        </button>
        <button type="button" disabled={!hasResult} data-testid="influence-export" onClick={exportJson}>
          Export JSON
        </button>
      </div>
      {job && <JobProgressBar job={job} label="Influence" testId="influence-progress" onCancel={cancel} />}
    </section>
  );
}

function ImageList({ items, kind, method }: { items: RankedImage[]; kind: 'helpful' | 'harmful'; method: string }) {
  return (
    <ol className={`influence-list influence-${kind}`} data-testid={`influence-${method}-${kind}`}>
      {items.map((it, i) => (
        <li key={it.index} title={`training image #${it.index}, label ${it.label}, score ${it.score}`}>
          <Digit
            pixels={it.pixels}
            size={44}
            label={`${kind} ${i + 1}: training image ${it.index}, a ${it.label}, score ${formatValue(it.score)}`}
          />
          <span className="influence-score">{formatValue(it.score)}</span>
          <span className="influence-label">
            #{it.index} · {it.label}
          </span>
        </li>
      ))}
    </ol>
  );
}

function ScoresView() {
  const r = useInfluencePage((s) => s.scores)!;
  const q = r.query;
  const overlap = topOverlap(r, 'kfac', 'ekfac');
  const overlapId = topOverlap(r, 'identity', 'ekfac');
  return (
    <section className="card influence-results" aria-labelledby="influence-results-heading" data-testid="influence-results">
      <h3 id="influence-results-heading">Most helpful and most harmful training images</h3>
      <div className="influence-query-summary">
        <Digit pixels={q.pixels} size={84} label={`the query: ${q.kind === 'test' ? `test image ${q.index}` : 'your drawing'}`} />
        <div>
          <p>
            {q.kind === 'test' ? `Test image #${q.index}` : 'Your drawing'}, label <strong>{q.label}</strong>; the model predicts{' '}
            <strong>{q.predicted}</strong> ({(100 * q.probabilities[q.predicted]).toFixed(1)} %), loss m<sub>q</sub> = {formatValue(q.loss)}
            .
          </p>
          <p className="field-help">
            Scored over {r.examples} training images; λ = {r.damping.relative} × mean eigenvalue = {formatValue(r.damping.absolute)}. K-FAC
            fit {r.kfacFitSeconds.toFixed(2)} s{r.ekfacFitSeconds > 0 ? `, EK-FAC Λ ${r.ekfacFitSeconds.toFixed(2)} s` : ''}.
            {overlap !== null && ` K-FAC and EK-FAC share ${overlap} of their top ${r.methods[0].helpful.length} helpful images`}
            {overlapId !== null && `; the gradient dot product shares ${overlapId} with EK-FAC`}.
          </p>
        </div>
      </div>
      <div className="influence-methods">
        {r.methods.map((m) => (
          <div
            key={m.method}
            className="influence-method"
            style={{ borderTopColor: METHOD_COLORS[m.method] }}
            data-testid={`influence-method-${m.method}`}
          >
            <h4>{METHOD_LABELS[m.method]}</h4>
            <p className="field-help">
              all {r.examples} images in {(m.seconds * 1000).toFixed(0)} ms
            </p>
            <h5>Helped (removing them would raise the loss)</h5>
            <ImageList items={m.helpful} kind="helpful" method={m.method} />
            <h5>Hurt (removing them would lower the loss)</h5>
            <ImageList items={m.harmful} kind="harmful" method={m.method} />
          </div>
        ))}
      </div>
    </section>
  );
}

function LdsPanel() {
  const settings = useInfluencePage((s) => s.settings);
  const setSettings = useInfluencePage((s) => s.setSettings);
  const runLds = useInfluencePage((s) => s.runLds);
  const job = useInfluencePage((s) => s.ldsJob);
  const cancel = useInfluencePage((s) => s.cancel);
  const lds = useInfluencePage((s) => s.lds);
  const busy = useBusy();
  const build = useCallback(() => (lds ? buildLdsFigure(lds) : null), [lds]);
  const plot = usePlot(build);
  return (
    <section className="card influence-lds" aria-labelledby="influence-lds-heading">
      <h3 id="influence-lds-heading">Do the scores predict retraining? (LDS)</h3>
      <p>
        Retrain the model on {settings.subsets} random halves of the {settings.examples} images, {settings.seeds} times each (
        {settings.subsets * settings.seeds} retrainings of {settings.steps} steps), measure the loss of the first {settings.ldsQueries} test
        images, and correlate it with the sum of the left-out images’ scores. 1 is perfect; the dashed line is what two independent sets of
        retrainings reach with each other.
      </p>
      <div className="field-row">
        <NumberField
          label="Half subsets M"
          value={settings.subsets}
          min={3}
          max={500}
          disabled={busy}
          testId="influence-subsets"
          onChange={(v) => setSettings({ subsets: v })}
        />
        <NumberField
          label="Seeds per subset"
          value={settings.seeds}
          min={1}
          max={10}
          disabled={busy}
          testId="influence-seeds"
          onChange={(v) => setSettings({ seeds: v })}
        />
        <NumberField
          label="Test queries"
          value={settings.ldsQueries}
          min={1}
          max={512}
          disabled={busy}
          testId="influence-lds-queries"
          onChange={(v) => setSettings({ ldsQueries: v })}
        />
      </div>
      <button type="button" disabled={busy} data-testid="influence-lds-run" onClick={() => void runLds()}>
        Run the LDS evaluation
      </button>
      {job && <JobProgressBar job={job} label="LDS" testId="influence-lds-progress" onCancel={cancel} />}
      <div hidden={!lds} data-testid="influence-lds-result">
        <ChartFigure
          id="influence-lds-figure"
          title="LDS per method (mean ± spread over test queries)"
          summary={lds ? ldsSummary(lds) : ''}
          table={() => (lds ? ldsTable(lds) : { caption: '', columns: [], rows: [] })}
          plotRef={plot.ref}
          canSave={plot.ready}
          error={plot.error}
        />
      </div>
    </section>
  );
}
