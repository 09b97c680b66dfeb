// The lab's teaching text for the chosen task: K-FAC in short, expand vs reduce for this model's
// weight sharing (with a drawing), and what to look for in the charts. Collapsed <details>, so it
// stays out of the way. The mathematics follows docs/kfac.md; keep the two in step.
import { useId } from 'react';
import { TASKS, type TaskId } from '../../engine/lab/tasks.ts';
import { FACTOR_BENCH, taskSharing } from './sharing.ts';
import { SharingDiagram } from './SharingDiagram.tsx';
import './teaching.css';

export function Explainer({ task }: { task: TaskId }) {
  const headingId = useId();
  const title = TASKS[task].title;
  return (
    <section className="card explainer" aria-labelledby={headingId} data-testid="explainer">
      <h2 id={headingId}>How K-FAC works, and what to look for</h2>
      <KfacInShort />
      <ExpandVsReduce task={task} title={title} />
      <WhatToLookFor />
    </section>
  );
}

const F = ({ children }: { children: string }) => <span className="formula">{children}</span>;

function KfacInShort() {
  return (
    <details>
      <summary>K-FAC in short</summary>
      <p>
        K-FAC (Kronecker-factored approximate curvature) is a second-order optimizer: it rescales the gradient by the inverse of an
        approximation of the loss curvature, the Fisher information matrix, which for the cross-entropy losses used here equals the
        generalized Gauss–Newton matrix (GGN). It keeps one block per layer and ignores the curvature between layers.
      </p>
      <p>
        For a linear layer <F>s = W a + b</F> with weights <F>W</F> of shape <F>dOut × dIn</F>, the block is approximated by the Kronecker
        product of two small matrices, <F>G ⊗ A</F>:
      </p>
      <ul>
        <li>
          <F>A</F> (<F>dIn × dIn</F>): the uncentred covariance of the layer’s inputs <F>a</F> over the batch (the bias is folded in as an
          extra input equal to 1);
        </li>
        <li>
          <F>G</F> (<F>dOut × dOut</F>): the same for the gradients <F>b</F> back-propagated to the layer’s outputs, by default for labels
          sampled from the model’s own predictions (the Monte Carlo Fisher).
        </li>
      </ul>
      <p>
        Because <F>(G ⊗ A)⁻¹ = G⁻¹ ⊗ A⁻¹</F>, the update needs only the inverses of the two factors: the weight gradient <F>V</F> (shape{' '}
        <F>dOut × dIn</F>) becomes <F>Δ = G⁻¹ V A⁻¹</F>, instead of being multiplied by the inverse of a <F>(dIn·dOut) × (dIn·dOut)</F>{' '}
        matrix.
      </p>
      <p>
        Damping <F>λ</F> is added before inverting: split between the two factors (π-damping) with the Cholesky method, or added exactly to
        the eigenvalues of <F>G ⊗ A</F> with the eigen method. It limits the step in directions of small curvature; with a large <F>λ</F>,
        K-FAC approaches gradient descent with learning rate <F>lr / λ</F>.
      </p>
      <p>
        The factors are running averages (factor decay <F>ε</F>) refreshed every <F>T_cov</F> steps; the inverses, the expensive part, every{' '}
        <F>T_inv</F> steps. Parameters outside linear layers (embeddings, LayerNorm, positional encodings) are trained with a first-order
        optimizer, Adam by default.
      </p>
    </details>
  );
}

function ExpandVsReduce({ task, title }: { task: TaskId; title: string }) {
  const sharing = taskSharing(task);
  const bench = FACTOR_BENCH;
  return (
    <details>
      <summary>Expand vs reduce: the weight sharing of this model</summary>
      <p>
        Many layers of modern networks apply one weight matrix at several positions of each example: the tokens of a sequence, the patches
        of an image, the nodes of a graph, the output positions of a convolution. The layer then sees an input of shape <F>N × R × dIn</F>,
        with <F>R</F> shared positions per example, and K-FAC must decide how those <F>N·R</F> vectors form the factors (Eschenhagen et al.,
        “Kronecker-Factored Approximate Curvature for Modern Neural Network Architectures”, NeurIPS 2023).
      </p>
      <h3>In {title}</h3>
      <p>{sharing.where}</p>
      <figure className="sharing-figure">
        <SharingDiagram sharing={sharing} taskTitle={title} />
        <figcaption>
          The input of a weight-sharing layer: {sharing.nLabel}, each with {sharing.rLabel}
          {sharing.truncated ? ' (fewer drawn)' : ''}. Expand keeps every position vector as a row of A; reduce averages each example’s{' '}
          {sharing.dim ?? 'positions'} into one row.
        </figcaption>
      </figure>
      <ul>
        <li>
          <strong>K-FAC-expand</strong> treats the <F>R</F> positions as extra examples: <F>A</F> averages <F>a aᵀ</F> over all <F>N·R</F>{' '}
          input vectors, and <F>G</F> sums <F>b bᵀ</F> over all of them.
        </li>
        <li>
          <strong>K-FAC-reduce</strong> first averages the inputs over the <F>R</F> positions (<F>â = meanᵣ a</F>) and sums the output
          gradients over them (<F>b̂ = Σᵣ b</F>), then forms <F>A</F> and <F>G</F> from <F>N</F> rows.
        </li>
      </ul>
      <p>
        Which one fits depends on the loss. In the <em>expand setting</em> the loss has a term for every position (<F>N·R</F> terms: the
        tokens of a language model, the nodes in node classification); in the <em>reduce setting</em> the positions are pooled inside the
        model and the loss has one term per example (image or graph classification). For deep linear networks with weight sharing,
        K-FAC-expand is exact (it equals the GGN block) in the expand setting, and K-FAC-reduce in the reduce setting. Either can be used in
        either setting as an approximation; with nonlinearities both are approximations, and the paper saw little difference between the two
        when training a GNN and a ViT.
      </p>
      <p>
        <strong>Here</strong>{' '}
        <span className="setting-tag">{sharing.setting === 'none' ? 'no sharing' : `${sharing.setting} setting`}</span>:{' '}
        {sharing.consequence}
      </p>
      <p>
        <strong>Cost.</strong> The factors have the same size in both approximations, so inverting them costs the same. Computing them does
        not: expand’s outer products run over <F>N·R</F> rows, reduce’s over <F>N</F> rows after a cheap sum over <F>R</F>, so the outer
        products of reduce do not grow with <F>R</F> and its cost grows far more slowly. Measured on {bench.device} for one layer with{' '}
        <F>N = 32</F>, <F>dIn = dOut = 64</F>: from <F>{`R = ${bench.fromR}`}</F> to <F>{`R = ${bench.toR}`}</F>, expand took{' '}
        {bench.expandMs[0]} → {bench.expandMs[1]} ms per factor update and reduce {bench.reduceMs[0]} → {bench.reduceMs[1]} ms.
      </p>
    </details>
  );
}

function WhatToLookFor() {
  return (
    <details>
      <summary>What to look for in the charts</summary>
      <ul>
        <li>
          <strong>Steps against wall-clock.</strong> Every run starts from the same weights and sees the same batches, so curves against
          steps compare what each update achieves. A K-FAC step costs more than an SGD or Adam step: switch the x-axis to wall-clock time to
          see whether a lead in steps survives. The paper reports K-FAC reaching a fixed validation target in 50–75 % of the steps of a
          first-order reference run, with a comparable gain in wall-clock time. On the CPU fallback or a software GPU, times are not
          representative of a real GPU.
        </li>
        <li>
          <strong>Results table.</strong> “Steps vs first-order” and “Time vs first-order” compare each run with the best SGD or Adam run
          that reached the target; below 1× is faster.
        </li>
        <li>
          <strong>Time per phase.</strong> K-FAC adds <em>factors</em> (the extra backward pass for the sampled Fisher and the updates of{' '}
          <F>A</F> and <F>G</F>) and <em>inverses</em> (recomputed every <F>T_inv</F> steps). The factor time is where expand and reduce
          differ, growing with <F>R</F> for expand; the inverses cost the same for both. Larger <F>T_cov</F> or <F>T_inv</F> buy speed with
          staler curvature.
        </li>
        <li>
          <strong>Curvature.</strong> The heatmaps of <F>A</F> and <F>G</F> show how a layer’s inputs and output gradients correlate: the
          off-diagonal structure that a diagonal method such as Adam ignores. The eigenvalues of <F>G ⊗ A</F> (every product of an
          eigenvalue of <F>G</F> with one of <F>A</F>) usually spread over several orders of magnitude; that spread is what preconditioning
          corrects. Compare them with the damping <F>λ</F>: directions with eigenvalues well above <F>λ</F> are scaled by their curvature,
          those well below all get about the same step, <F>lr / λ</F> times the gradient. If a run diverges, more damping (or KL clipping)
          makes its steps more cautious.
        </li>
      </ul>
    </details>
  );
}
