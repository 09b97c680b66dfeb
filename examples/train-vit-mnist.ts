// Train the tiny ViT on MNIST (28×28, 16 patches of 7×7) with Adam — the example shown in the README (a test runs it).
import {
  BatchSampler,
  constant,
  createBackend,
  createOptimizer,
  gatherRows,
  loadMnist,
  scope,
  softmaxCrossEntropy,
  top1Counts,
  trainStep,
  Vit,
} from '../src/engine/index.ts';

export async function trainVitOnMnist(steps = 150, batchSize = 32) {
  const backend = await createBackend({ prefer: 'webgpu' }); // CPU fallback, with the reason, if no WebGPU
  const data = await loadMnist({ size: 28, normalize: true });
  const model = new Vit({ backend, seed: 0 }, { inChannels: 1, height: 28, width: 28, patch: 7, dim: 32, depth: 2, heads: 4, classes: 10 });
  const optimizer = createOptimizer('adam', { lr: 3e-3 });
  const params = model.parameters();
  const sampler = new BatchSampler({ size: data.train.count, batchSize, seed: 0 });
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const { indices } = sampler.batchAtStep(step);
    const images = backend.tensor(gatherRows(data.train.images, 28 * 28, indices), [indices.length, 1, 28, 28]);
    const labels = backend.tensor(gatherRows(data.train.labels, 1, indices), [indices.length], 'int32');
    const loss = trainStep({ params, optimizer, step, loss: () => softmaxCrossEntropy(model.forward(constant(images)), labels) });
    losses.push((await loss.read())[0]);
    for (const t of [images, labels, loss]) t.dispose();
  }
  const testImages = backend.tensor(data.test.images.subarray(0, 500 * 784), [500, 1, 28, 28]);
  const testLabels = backend.tensor(data.test.labels.subarray(0, 500), [500], 'int32');
  const counts = scope(() => top1Counts(model.eval().forward(constant(testImages)), testLabels)); // [correct, counted]
  const [correct, counted] = await counts.read();
  const accuracy = correct / counted;
  console.log(`${backend.info.summary}: loss ${losses[0].toFixed(3)} → ${losses[steps - 1].toFixed(3)}, test accuracy ${accuracy}`);
  backend.destroy();
  return { losses, accuracy };
}
