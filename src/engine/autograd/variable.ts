// Reverse-mode autograd: a Variable is a tensor value plus, when it was produced by a recorded op,
// the node that knows how to send a gradient back to the op's inputs. Recording happens while
// gradients are enabled (the default); noGrad() turns it off for evaluation.
import { keep, type Tensor } from '../tensor.ts';

/** One recorded op: its inputs and its vector-Jacobian product. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Variable[];
  /**
   * Given ∂L/∂output, return ∂L/∂input for each input. `needs[k]` says whether input k's gradient
   * is used (it leads to a requested gradient or a gradient hook); return null where it is not —
   * that skips, e.g., the weight-gradient matmul in the curvature passes.
   */
  vjp(gradOutput: Tensor, needs: readonly boolean[]): (Tensor | null)[];
}

export type GradHook = (grad: Tensor) => void;

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run fn without recording ops (evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const before = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = before;
  }
}

export class Variable {
  /** Called with the complete ∂L/∂(this) during backward (the curvature hook uses it). */
  private gradHooks: GradHook[] = [];

  constructor(
    private current: Tensor,
    /** Leaves: true for parameters. Op results: true when any input requires a gradient. */
    readonly requiresGrad = false,
    readonly node: GradNode | null = null,
    public name?: string,
  ) {}

  get value(): Tensor {
    return this.current;
  }

  /**
   * Replace a leaf's value (optimizer updates), disposing the old one unless told not to. The new
   * tensor is exempted from any enclosing scope: a parameter outlives training steps.
   */
  assign(next: Tensor, { disposePrevious = true } = {}): void {
    if (this.node) throw new Error('assign: only leaf variables (parameters, constants) can be assigned');
    if (next.shape.length !== this.current.shape.length || next.shape.some((d, i) => d !== this.current.shape[i])) {
      throw new Error(`assign: shape [${next.shape.join(', ')}] does not match [${this.current.shape.join(', ')}]`);
    }
    const prev = this.current;
    this.current = keep(next);
    if (disposePrevious && prev !== next) prev.dispose();
  }

  get shape(): readonly number[] {
    return this.value.shape;
  }

  get rank(): number {
    return this.value.rank;
  }

  get backend() {
    return this.value.backend;
  }

  onGrad(hook: GradHook): void {
    this.gradHooks.push(hook);
  }

  /** @internal used by backward() */
  runGradHooks(grad: Tensor): void {
    for (const h of this.gradHooks) h(grad);
  }

  get hasGradHooks(): boolean {
    return this.gradHooks.length > 0;
  }
}

/** A constant input (data, targets, masks): never receives a gradient. */
export function constant(value: Tensor, name?: string): Variable {
  return new Variable(value, false, null, name);
}

/** A trainable leaf. */
export function parameter(value: Tensor, name?: string): Variable {
  return new Variable(value, true, null, name);
}

/**
 * Wrap an op's result. When recording and some input needs a gradient, attach the node; the vjp
 * closure is only built in that case, so no-grad evaluation keeps no intermediate tensors alive.
 */
export function record(op: string, value: Tensor, inputs: readonly Variable[], makeVjp: () => GradNode['vjp']): Variable {
  if (!gradEnabled || !inputs.some((v) => v.requiresGrad)) return new Variable(value);
  return new Variable(value, true, { op, inputs, vjp: makeVjp() });
}
