// Unary elementwise ops on float32: out[i] = f(x[i]). The op is the pipeline-overridable constant
// OP (codes in src/engine/backend/webgpu/elementwise.ts), so each op compiles to its own
// branch-free pipeline. tanh, sigmoid and gelu use overflow-free formulas (builtin tanh gives NaN
// for large |x| on some drivers) that match the CPU twin term for term.

override OP: u32 = 0u;

struct Params {
  count: u32,
  rowStride: u32, // invocations per grid row (linearGrid)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// tanh via e = exp(-2|x|) ∈ (0, 1], which cannot overflow; a short series near 0 avoids the
// cancellation in 1 - e.
fn stable_tanh(v: f32) -> f32 {
  let a = abs(v);
  if (a < 0.0625) {
    let v2 = v * v;
    return v * (1.0 + v2 * (-1.0 / 3.0 + v2 * (2.0 / 15.0)));
  }
  let e = exp(-2.0 * a);
  let t = (1.0 - e) / (1.0 + e);
  return select(t, -t, v < 0.0);
}

fn stable_sigmoid(v: f32) -> f32 {
  let e = exp(-abs(v));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}

fn gelu(v: f32) -> f32 {
  let sqrt2OverPi = 0.7978845608028654;
  return 0.5 * v * (1.0 + stable_tanh(sqrt2OverPi * (v + 0.044715 * v * v * v)));
}

fn apply(v: f32) -> f32 {
  switch OP {
    case 0u: { return -v; }
    case 1u: { return abs(v); }
    case 2u: { return exp(v); }
    case 3u: { return log(v); }
    case 4u: { return sqrt(v); }
    case 5u: { return 1.0 / sqrt(v); }
    case 6u: { return v * v; }
    case 7u: { return 1.0 / v; }
    case 8u: { return sign(v); }
    case 9u: { return select(0.0, v, v > 0.0); }
    case 10u: { return gelu(v); }
    case 11u: { return stable_tanh(v); }
    default: { return stable_sigmoid(v); }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.rowStride;
  if (i >= params.count) {
    return;
  }
  out[i] = apply(x[i]);
}
