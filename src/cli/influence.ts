// `npm run -s influence -- --task <id> --method kfac|ekfac|identity|ggn [--lds [--subsets M] [--seeds S]] [--json]`
// (docs/curvature-tools.md §3): train an MNIST classifier on N images (or load a checkpoint), score
// every training image's influence on Q test images, list the most helpful and harmful ones, and
// optionally evaluate the scores by the LDS. Progress on stderr; the summary (or --json) on stdout.
// Exit codes: 0 success, 2 bad arguments (the message names the flag), 1 failure while running.
import { writeSync } from 'node:fs';
import { createBackend } from '../engine/backend/create-backend.ts';
import { ggnInfeasible } from '../engine/tools/influence/classifier.ts';
import { runInfluenceExperiment, type InfluenceExperiment } from '../engine/tools/influence/experiment.ts';
import { failWith, writeStdout } from './case-io.ts';
import { loadCheckpointFile } from './checkpoint-file.ts';
import { INFLUENCE_USAGE, InfluenceArgsError, parseInfluenceArgs, type InfluenceArgs } from './influence-args.ts';

const fail = failWith('influence');

function summary(r: InfluenceExperiment): string {
  const lines = [
    `${r.task}: ${r.examples} training images, ${r.queries.length} test queries; model ${r.recipe.source === 'checkpoint' ? 'from a checkpoint' : `trained ${r.recipe.steps} Adam steps (${r.trainSeconds.toFixed(1)} s)`}`,
    `device: ${r.device}`,
    `damping λ = ${r.damping.relative} × mean K-FAC eigenvalue ${r.damping.meanEigenvalue.toExponential(3)} = ${r.damping.absolute.toExponential(3)}; K-FAC fit ${r.kfacFitSeconds.toFixed(2)} s${r.ekfacFitSeconds > 0 ? `, EK-FAC Λ ${r.ekfacFitSeconds.toFixed(2)} s` : ''}`,
    '',
  ];
  for (const m of r.methods) {
    lines.push(
      `${m.method}: all ${r.examples} images × ${r.queries.length} queries in ${m.scoreSeconds.toFixed(2)} s (${(m.secondsPerQuery * 1000).toFixed(1)} ms per query)${m.lds ? `; LDS ${m.lds.mean.toFixed(3)} ± ${m.lds.spread.toFixed(3)}` : ''}`,
    );
    m.top.forEach((t, q) => {
      const list = (xs: { index: number; score: number }[]) => xs.map((x) => `#${x.index} (${x.score.toExponential(2)})`).join(', ');
      lines.push(`  query test #${r.queries[q].index} (label ${r.queries[q].label}, loss ${r.queries[q].loss.toFixed(3)})`);
      lines.push(`    helpful: ${list(t.helpful)}`);
      lines.push(`    harmful: ${list(t.harmful)}`);
    });
  }
  if (r.lds) {
    lines.push('');
    lines.push(
      `LDS: ${r.lds.subsets} half subsets × ${r.lds.seeds} seeds (${r.lds.retrainSeconds.toFixed(1)} s of retraining); ceiling (seed to seed) ${r.lds.ceiling ? `${r.lds.ceiling.mean.toFixed(3)} ± ${r.lds.ceiling.spread.toFixed(3)}` : 'n/a (one seed)'}`,
    );
    for (const m of r.methods) if (m.lds) lines.push(`  ${m.method.padEnd(8)} ${m.lds.mean.toFixed(3)} ± ${m.lds.spread.toFixed(3)}`);
  }
  return lines.join('\n');
}

async function run(args: InfluenceArgs): Promise<void> {
  if (args.methods.includes('ggn')) fail(ggnInfeasible(args.task), 2);
  const checkpoint = args.checkpoint
    ? await loadCheckpointFile(args.checkpoint).catch((e: Error) => fail(`--checkpoint: ${e.message}`, 2))
    : null;
  if (checkpoint && checkpoint.task !== args.task)
    fail(`--checkpoint: the checkpoint is a model of task "${checkpoint.task}", not of "${args.task}"`, 2);
  const backend = await createBackend({ prefer: args.backend, requireWebGPU: args.backend === 'webgpu' });
  writeSync(2, `influence: ${backend.info.summary}\n`);
  let shown = '';
  try {
    const result = await runInfluenceExperiment({
      backend,
      task: args.task,
      methods: args.methods,
      examples: args.examples,
      queries: args.queries,
      steps: args.steps,
      relativeDamping: args.damping,
      top: args.top,
      seed: args.seed,
      lds: args.lds ? { subsets: args.subsets, seeds: args.seeds } : null,
      checkpoint,
      onProgress: (p) => {
        const tenth = Math.floor((p.done * 10) / Math.max(1, p.total));
        const line = `${p.stage} ${tenth * 10}%`;
        if (line !== shown) writeSync(2, `influence: ${line}\n`);
        shown = line;
      },
    });
    await writeStdout(`${args.json ? JSON.stringify(result, null, 2) : summary(result)}\n`);
  } finally {
    backend.destroy();
  }
}

try {
  const args = parseInfluenceArgs(process.argv.slice(2));
  if (args === 'help') await writeStdout(`${INFLUENCE_USAGE}\n`);
  else await run(args);
} catch (e) {
  if (e instanceof InfluenceArgsError) fail(`${e.message}\n\n${INFLUENCE_USAGE}`, 2);
  fail((e as Error).stack ?? String(e), 1);
}
// Dawn's event loop hooks can keep Node alive after the device is destroyed.
process.exit(0);
