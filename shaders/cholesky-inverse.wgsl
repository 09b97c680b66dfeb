// A⁻¹ = L⁻ᵀ L⁻¹ from batched Cholesky factors L, in two dispatches:
//   invert_factor: one invocation per column c of L⁻¹ (forward substitution on e_c, starting at
//                  row c since L⁻¹ is lower triangular); it writes that column as row c of
//                  U = L⁻ᵀ (upper triangular, zeros below), so its writes are contiguous.
//   gram:          one invocation per lower-triangle entry (i ≥ j) of A⁻¹ = U Uᵀ:
//                  Σ_{r ≥ i} U[i][r] U[j][r], written to (i, j) and (j, i): exactly symmetric.
// Neither needs a barrier. src/dst are L/U in the first pass and U/A⁻¹ in the second.

struct Params {
  n: u32,
  batch: u32,
  // invert_factor: workgroup g = x + y * groups_x covers batch × col_groups.
  col_groups: u32,
  groups_x: u32,
  // gram: invocation index = gid.x + gid.y * row_stride, below count = batch · n(n+1)/2.
  count: u32,
  row_stride: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn invert_factor(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let g = wid.x + wid.y * params.groups_x;
  let m = g / params.col_groups;
  let c = (g % params.col_groups) * WG + tid;
  let n = params.n;
  if (m >= params.batch || c >= n) {
    return;
  }
  let base = m * n * n;
  let u_row = base + c * n;
  for (var i = 0u; i < c; i++) {
    dst[u_row + i] = 0.0;
  }
  dst[u_row + c] = 1.0 / src[base + c * n + c];
  for (var i = c + 1u; i < n; i++) {
    let l_row = base + i * n;
    var s = 0.0;
    for (var r = c; r < i; r++) {
      s += src[l_row + r] * dst[u_row + r];
    }
    dst[u_row + i] = -s / src[l_row + i];
  }
}

@compute @workgroup_size(WG)
fn gram(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * params.row_stride;
  if (t >= params.count) {
    return;
  }
  let n = params.n;
  let tri = n * (n + 1u) / 2u;
  let m = t / tri;
  let e = t % tri;
  // Row i of the lower-triangle entry e = i(i+1)/2 + j: float estimate, then exact integer fix-up.
  var i = u32((sqrt(8.0 * f32(e) + 1.0) - 1.0) * 0.5);
  while (i * (i + 1u) / 2u > e) {
    i--;
  }
  while ((i + 1u) * (i + 2u) / 2u <= e) {
    i++;
  }
  let j = e - i * (i + 1u) / 2u;
  let base = m * n * n;
  let row_i = base + i * n;
  let row_j = base + j * n;
  var s = 0.0;
  for (var r = i; r < n; r++) {
    s += src[row_i + r] * src[row_j + r];
  }
  dst[row_i + j] = s;
  dst[row_j + i] = s;
}
