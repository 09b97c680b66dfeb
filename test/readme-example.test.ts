// The README's "train the tiny ViT on MNIST with Adam" example is examples/train-vit-mnist.ts,
// quoted verbatim; this test keeps the quote honest and runs the example.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { trainVitOnMnist } from '../examples/train-vit-mnist.ts';

describe('README example: tiny ViT on MNIST with Adam', () => {
  it('is quoted verbatim in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('../examples/train-vit-mnist.ts', import.meta.url), 'utf8');
    expect(readme).toContain(example.trim());
  });
  it('trains: the loss falls and test accuracy is well above chance', async () => {
    const { losses, accuracy } = await trainVitOnMnist(80, 32);
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(first).toBeGreaterThan(1.9); // ≈ ln 10 at initialisation
    expect(last).toBeLessThan(0.75 * first);
    expect(accuracy).toBeGreaterThan(0.3);
  });
});
