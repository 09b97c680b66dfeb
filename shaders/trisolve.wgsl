// Batched triangular solves with a lower-triangular L [n, n]: L X = B (forward substitution) or,
// with TRANSPOSE, Lᵀ X = B (backward substitution), B and X [n, k]. Right-hand-side columns are
// independent, so each invocation solves one column of one matrix from top to bottom (or bottom
// to top) and needs no barrier at all; it reads back only the x values it wrote itself.
// Workgroups: a flat index g = workgroup_id.x + workgroup_id.y * groups_x covers
// batch × col_groups, with matrix = g / col_groups and column block = g % col_groups.

struct Params {
  n: u32,
  k: u32,
  batch: u32,
  col_groups: u32,
  groups_x: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> l: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

override WG: u32 = 64u;
override TRANSPOSE: bool = false;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let g = wid.x + wid.y * params.groups_x;
  let m = g / params.col_groups;
  let c = (g % params.col_groups) * WG + tid;
  let n = params.n;
  let k = params.k;
  if (m >= params.batch || c >= k) {
    return;
  }
  let l_base = m * n * n;
  let x_base = m * n * k + c;
  if (TRANSPOSE) {
    // Lᵀ X = B: x_i = (b_i − Σ_{r>i} L[r][i] x_r) / L[i][i], i = n−1 … 0.
    for (var step = 0u; step < n; step++) {
      let i = n - 1u - step;
      var s = b[x_base + i * k];
      for (var r = i + 1u; r < n; r++) {
        s -= l[l_base + r * n + i] * x[x_base + r * k];
      }
      x[x_base + i * k] = s / l[l_base + i * n + i];
    }
  } else {
    // L X = B: x_i = (b_i − Σ_{r<i} L[i][r] x_r) / L[i][i], i = 0 … n−1.
    for (var i = 0u; i < n; i++) {
      let row = l_base + i * n;
      var s = b[x_base + i * k];
      for (var r = 0u; r < i; r++) {
        s -= l[row + r] * x[x_base + r * k];
      }
      x[x_base + i * k] = s / l[row + i];
    }
  }
}
