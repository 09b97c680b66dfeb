// backward(): walk the recorded graph from the output in reverse topological order, accumulating
// gradients of variables used more than once, and calling gradient hooks once a variable's
// gradient is complete.
import type { Tensor } from '../tensor.ts';
import type { Variable } from './variable.ts';

function topologicalOrder(output: Variable): Variable[] {
  const order: Variable[] = [];
  const seen = new Set<Variable>();
  // Iterative DFS: models with hundreds of ops would overflow a recursive one in some engines.
  const stack: { v: Variable; expanded: boolean }[] = [{ v: output, expanded: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.expanded) {
      order.push(top.v);
      continue;
    }
    if (seen.has(top.v)) continue;
    seen.add(top.v);
    stack.push({ v: top.v, expanded: true });
    for (const input of top.v.node?.inputs ?? []) if (input.requiresGrad && !seen.has(input)) stack.push({ v: input, expanded: false });
  }
  return order; // inputs before the ops that use them
}

/**
 * Gradients of `output` with respect to `wrt`. `seed` is ∂L/∂output (default: ones, which needs a
 * scalar-sized output). Intermediate gradients are disposed as soon as they have been used; the
 * returned ones belong to the caller (or the enclosing scope). A vjp must return fresh tensors (a
 * reshape view of its gradOutput is fine: views are reference counted).
 */
export function grad(output: Variable, wrt: readonly Variable[], seed?: Tensor): Tensor[] {
  const backend = output.value.backend;
  if (!output.requiresGrad) throw new Error('grad: the output does not depend on any variable that requires a gradient');
  if (!seed && output.value.size !== 1)
    throw new Error(`grad: output of shape [${output.shape.join(', ')}] needs an explicit seed gradient`);
  const grads = new Map<Variable, Tensor>();
  grads.set(output, seed ?? backend.fill(output.shape, 1, output.value.dtype));
  const wanted = new Set(wrt);
  const order = topologicalOrder(output);
  // A variable's gradient is needed when it is requested, hooked, or on the way to one that is
  // (inputs come before their users in `order`).
  const needed = new Set<Variable>();
  for (const v of order) {
    if (wanted.has(v) || v.hasGradHooks || v.node?.inputs.some((input) => needed.has(input))) needed.add(v);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const v = order[i];
    const g = grads.get(v);
    if (!g) continue;
    v.runGradHooks(g);
    if (!v.node || !v.node.inputs.some((input) => needed.has(input))) continue;
    const needs = v.node.inputs.map((input) => input.requiresGrad && needed.has(input));
    const inputGrads = v.node.vjp(g, needs);
    if (!wanted.has(v)) {
      grads.delete(v);
      if (g !== seed) g.dispose();
    }
    v.node.inputs.forEach((input, k) => {
      const gi = inputGrads[k];
      if (!gi || !needs[k]) {
        gi?.dispose();
        return;
      }
      const prev = grads.get(input);
      if (prev) {
        grads.set(input, backend.binary('add', prev, gi));
        prev.dispose();
        gi.dispose();
      } else grads.set(input, gi);
    });
  }
  const result = wrt.map((w) => grads.get(w) ?? backend.zeros(w.shape, w.value.dtype));
  for (const [v, g] of grads) if (!wanted.has(v) && g !== seed) g.dispose();
  return result;
}
