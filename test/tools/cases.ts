// Small JSON cases shared by the tool tests and the factors and curvature commands' tests.
import { randomStack, nested } from '../curvature/oracle-helpers.ts';
import { Rng } from '../../src/engine/random.ts';

/** Linear 2→3 (bias), tanh, linear 3→2 (no bias); N = 2, R = 3, MSE in the expand setting. */
export function smallCase(): Record<string, unknown> {
  return {
    layers: [
      {
        type: 'linear',
        weight: [
          [0.5, -1],
          [1, 0.25],
          [0, 2],
        ],
        bias: [0.1, -0.2, 0.3],
      },
      { type: 'tanh' },
      {
        type: 'linear',
        weight: [
          [1, -1, 0.5],
          [0.2, 0.3, -0.4],
        ],
      },
    ],
    setting: 'expand',
    inputs: [
      [
        [1, 0],
        [0, 1],
        [1, 1],
      ],
      [
        [2, -1],
        [0.5, 0],
        [-1, 1],
      ],
    ],
    targets: [
      [
        [0, 1],
        [1, 0],
        [0.5, 0.5],
      ],
      [
        [1, 1],
        [0, 0],
        [-1, 1],
      ],
    ],
    loss: 'mse',
  };
}

/**
 * A random case: linear layers of the given widths with `activation` between them, N examples of R
 * positions, MSE or CE targets of the setting's shape.
 */
export function randomCase(
  seed: number,
  o: {
    widths: number[];
    N: number;
    R: number;
    setting: 'expand' | 'reduce';
    loss: 'mse' | 'ce';
    activation?: 'tanh' | 'relu';
    bias?: boolean;
  },
): Record<string, unknown> {
  const rng = new Rng(seed);
  const C = o.widths[o.widths.length - 1];
  const lead = o.setting === 'expand' ? [o.N, o.R] : [o.N];
  return {
    layers: randomStack(rng, o.widths, o.bias ?? true, o.activation),
    setting: o.setting,
    inputs: nested(rng, [o.N, o.R, o.widths[0]]),
    targets: o.loss === 'mse' ? nested(rng, [...lead, C]) : nested(rng, lead, () => Math.floor(rng.uniform(0, C))),
    loss: o.loss,
  };
}
