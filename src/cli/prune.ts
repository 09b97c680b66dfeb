// `npm run -s prune -- --task <id> --methods ... --sparsity ... [--scope layer|global] [--finetune N]
// [--json]` (docs/curvature-tools.md §5): train (or load) a task's model, prune it with every method
// at every sparsity, and print test accuracy against sparsity per method (or the whole result as
// JSON). Exit codes: 0 success, 2 bad arguments (the message names the flag), 1 failure.
import { writeSync } from 'node:fs';
import { createBackend } from '../engine/backend/create-backend.ts';
import { pruneTask, type PruneTaskResult } from '../engine/tools/prune/prune-experiment.ts';
import { failWith, writeStdout } from './case-io.ts';
import { loadCheckpointFile } from './checkpoint-file.ts';
import { parsePruneArgs, PRUNE_USAGE, PruneArgsError, type PruneArgs } from './prune-args.ts';

const fail = failWith('prune');

function percent(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** One row per sparsity, one column per method: test accuracy (and after fine-tuning). */
export function pruneTable(result: PruneTaskResult): string {
  const methods = [...new Set(result.runs.map((r) => r.method))];
  const sparsities = [...new Set(result.runs.map((r) => r.sparsity))];
  const finetuned = result.runs.some((r) => r.finetuned);
  const cell = (method: string, s: number) => {
    const r = result.runs.find((x) => x.method === method && x.sparsity === s);
    if (!r) return '—';
    return finetuned && r.finetuned ? `${percent(r.testAccuracy)} → ${percent(r.finetuned.testAccuracy)}` : percent(r.testAccuracy);
  };
  const width = Math.max(finetuned ? 17 : 9, ...methods.map((m) => m.length)) + 2;
  const lines = [
    `test accuracy after pruning${finetuned ? ' → after fine-tuning with the masks held' : ''} (dense: ${percent(result.baseline.testAccuracy)})`,
    `${'sparsity'.padEnd(9)}${methods.map((m) => m.padStart(width)).join('')}`,
    ...sparsities.map((s) => `${s.toFixed(2).padEnd(9)}${methods.map((m) => cell(m, s).padStart(width)).join('')}`),
    '',
    `loss on the curvature examples: measured increase / predicted (Σ ρ of the removed weights)`,
    ...sparsities.map(
      (s) =>
        `${s.toFixed(2).padEnd(9)}${methods
          .map((m) => {
            const r = result.runs.find((x) => x.method === m && x.sparsity === s);
            if (!r) return '—'.padStart(width + 10);
            const measured = (r.lossAfter - r.lossBefore).toPrecision(3);
            return ` ${measured}/${r.predictedIncrease === null ? '—' : r.predictedIncrease.toPrecision(3)}`.padStart(width + 10);
          })
          .join('')}`,
    ),
    '',
    `curvature time per method: ${methods.map((m) => `${m} ${(result.curvatureSeconds[m as keyof typeof result.curvatureSeconds] ?? 0).toFixed(2)} s`).join(', ')}`,
  ];
  return lines.join('\n');
}

async function main(argv: string[]): Promise<void> {
  let args: PruneArgs;
  try {
    const parsed = parsePruneArgs(argv);
    if (parsed.kind === 'help') {
      await writeStdout(`${PRUNE_USAGE}\n`);
      return;
    }
    args = parsed;
  } catch (e) {
    if (e instanceof PruneArgsError) fail(`${e.message}\n\n${PRUNE_USAGE}`, 2);
    throw e;
  }
  const checkpoint = args.checkpoint
    ? await loadCheckpointFile(args.checkpoint).catch((e: Error) => fail(`--checkpoint: ${e.message}`, 2))
    : null;
  const backend = await createBackend({ prefer: args.backend, requireWebGPU: args.backend === 'webgpu' });
  writeSync(2, `prune: ${backend.info.summary}\n`);
  let lastLine = 0;
  const say = (text: string) => {
    const now = performance.now();
    if (now - lastLine > 2000) {
      lastLine = now;
      writeSync(2, `prune: ${text}\n`);
    }
  };
  try {
    const result = await pruneTask(backend, {
      task: args.task,
      checkpoint,
      trainSteps: args.trainSteps,
      methods: args.methods,
      sparsities: args.sparsities,
      scope: args.scope,
      damping: args.damping,
      defaultDamping: args.defaultDamping,
      examples: args.examples,
      blockSize: args.blockSize,
      steps: args.steps,
      seed: args.seed,
      finetune: args.finetune > 0 ? { steps: args.finetune, optimizer: 'adam', hyper: { lr: 1e-3 } } : null,
      onTrainStep: (step, loss) => say(`training step ${step + 1}/${args.trainSteps}, loss ${loss.toFixed(4)}`),
      onProgress: (p) => say(`${p.stage}: ${p.done}/${p.total}`),
    });
    if (args.json) await writeStdout(`${JSON.stringify({ args, ...result }, null, 1)}\n`);
    else await writeStdout(`${result.device}\n${pruneTable(result)}\n`);
  } finally {
    backend.destroy();
  }
}

try {
  await main(process.argv.slice(2));
} catch (e) {
  fail((e as Error).stack ?? String(e), 1);
}
// Dawn's event loop hooks can keep Node alive after the device is destroyed.
process.exit(0);
