// The self-check: matmul on each backend against a float64 reference, with errors and timings.
import { formatError, formatMs } from '../format.ts';
import type { BackendCheck, CaseResult } from '../self-check.ts';
import { SELF_CHECK_CASES, SELF_CHECK_TOLERANCE } from '../self-check.ts';
import { useDiagnostics } from '../diagnostics-store.ts';

export function SelfCheckPanel() {
  const selfCheck = useDiagnostics((s) => s.selfCheck);
  const run = useDiagnostics((s) => s.runSelfCheck);
  const probing = useDiagnostics((s) => s.gpu.state === 'probing');
  const busy = selfCheck.state === 'running' || probing;
  const hasGpuColumn = selfCheck.backends.includes('webgpu');

  let status: string;
  if (selfCheck.state === 'running') status = `Running… ${selfCheck.cases.length} of ${selfCheck.total} shapes done.`;
  else if (selfCheck.state === 'done') status = selfCheck.summary;
  else status = probing ? 'Waiting for the WebGPU check to finish…' : 'Not run yet.';

  return (
    <section className="card" aria-labelledby="selfcheck-heading" data-testid="self-check" data-state={selfCheck.state}>
      <h2 id="selfcheck-heading">Self-check</h2>
      <p>
        Multiplies seeded random matrices on the CPU backend{hasGpuColumn ? ' and the WebGPU backend' : ''}, compares each result with a
        float64 reference computed in the page{hasGpuColumn ? ', and WebGPU with the CPU' : ''}. A shape passes when the relative error
        (largest deviation ÷ largest entry) stays within {SELF_CHECK_TOLERANCE.toExponential(0)}. Times include reading the result back; the
        first WebGPU call also compiles the kernel.
      </p>
      <button
        type="button"
        className="button"
        aria-disabled={busy}
        onClick={() => {
          if (!busy) void run();
        }}
      >
        Run self-check
      </button>
      <p
        className={`verdict ${selfCheck.passed === true ? 'verdict-ok' : selfCheck.passed === false ? 'verdict-fail' : ''}`}
        data-testid="selfcheck-summary"
      >
        {selfCheck.passed === true && <span aria-hidden="true">✓ </span>}
        {selfCheck.passed === false && <span aria-hidden="true">✗ </span>}
        {status}
      </p>
      <h3 id="selfcheck-results-heading">Results per shape</h3>
      <div className="table-scroll" role="region" aria-labelledby="selfcheck-results-heading" tabIndex={0}>
        <table className="results">
          <caption className="visually-hidden">matmul results per shape, errors relative to the float64 reference</caption>
          <thead>
            <tr>
              <th scope="col">Shape</th>
              <th scope="col">CPU error</th>
              <th scope="col">CPU time (first / repeat)</th>
              {hasGpuColumn && (
                <>
                  <th scope="col">WebGPU error</th>
                  <th scope="col">WebGPU time (first / repeat)</th>
                  <th scope="col">WebGPU vs CPU</th>
                </>
              )}
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {SELF_CHECK_CASES.map((c) => {
              const result = selfCheck.cases.find((r) => r.id === c.id);
              return result ? (
                <ResultRow key={c.id} result={result} hasGpuColumn={hasGpuColumn} />
              ) : (
                <tr key={c.id}>
                  <th scope="row">{c.label}</th>
                  <td colSpan={hasGpuColumn ? 6 : 3}>{selfCheck.state === 'running' ? 'pending' : '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ResultRow({ result, hasGpuColumn }: { result: CaseResult; hasGpuColumn: boolean }) {
  return (
    <tr data-testid={`case-${result.id}`} className={result.pass ? 'row-pass' : 'row-fail'}>
      <th scope="row">
        {result.label} <span className="shape">→ [{result.outShape.join('×')}]</span>
      </th>
      <CheckCells check={result.cpu} />
      {hasGpuColumn && (
        <>
          {result.webgpu ? <CheckCells check={result.webgpu} /> : <td colSpan={2}>not run</td>}
          <td className="num">{result.gpuVsCpu ? formatError(result.gpuVsCpu.relError) : '—'}</td>
        </>
      )}
      <td className={result.pass ? 'pass' : 'fail'}>{result.pass ? 'pass' : 'fail'}</td>
    </tr>
  );
}

function CheckCells({ check }: { check: BackendCheck }) {
  return (
    <>
      <td className={check.ok ? 'num' : 'num fail'}>
        {check.relError !== undefined && formatError(check.relError)}
        {check.error && (
          <span className="error-message">{check.relError !== undefined ? ` — ${check.error}` : `Error: ${check.error}`}</span>
        )}
      </td>
      <td className="num">{check.firstMs === undefined ? '—' : `${formatMs(check.firstMs)} / ${formatMs(check.repeatMs)}`}</td>
    </>
  );
}
