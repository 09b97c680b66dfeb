// Batched Cholesky factorisation A = L Lᵀ of small SPD matrices, one workgroup per matrix.
// Left-looking (Crout), column by column, in global memory (a 512×512 matrix does not fit in
// workgroup memory). Invocation t owns rows i ≡ t (mod WG). At column j every owner of a row i > j
// computes L[i][j] = (A[i][j] − L[i][0..j) · L[j][0..j)) / L[j][j]; the owner of row j + 1 also
// finishes the next pivot L[j+1][j+1] from its own row. So one barrier per column: n in all.
// Only the lower triangle of A is read. A pivot d that is not a positive normal finite float fails:
// status = its 1-based index, L[j][j] = 0 there, and every column from it on is written as zeros
// (a zero pivot is how later columns learn of the failure, so status has a single writer).

struct Params {
  n: u32,
  batch: u32,
  // Workgroups along x; matrix index = workgroup_id.x + workgroup_id.y * groups_x.
  groups_x: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> l: array<f32>;
@group(0) @binding(3) var<storage, read_write> status: array<i32>;

override WG: u32 = 64u;

const MIN_NORMAL: f32 = 1.17549435e-38;

fn is_good_pivot(d: f32) -> bool {
  // Bit test for inf/NaN: comparisons alone may be folded away by fast-math compilers.
  return d >= MIN_NORMAL && (bitcast<u32>(d) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let m = wid.x + wid.y * params.groups_x;
  if (m >= params.batch) {
    return; // uniform: the whole workgroup leaves
  }
  let n = params.n;
  let base = m * n * n;

  // Zeros above the diagonal of the rows this invocation owns.
  for (var i = tid; i < n; i += WG) {
    for (var j = i + 1u; j < n; j++) {
      l[base + i * n + j] = 0.0;
    }
  }
  if (tid == 0u) {
    let d = a[base];
    if (is_good_pivot(d)) {
      l[base] = sqrt(d);
      status[m] = 0;
    } else {
      l[base] = 0.0;
      status[m] = 1;
    }
  }
  storageBarrier();

  for (var j = 0u; j < n; j++) {
    let pivot = l[base + j * n + j];
    let row_j = base + j * n;
    // First owned row after j: the smallest i > j with i ≡ tid (mod WG).
    let first = j + 1u + (tid + WG - (j + 1u) % WG) % WG;
    for (var i = first; i < n; i += WG) {
      let row_i = base + i * n;
      var lij = 0.0;
      if (pivot != 0.0) {
        var s = a[row_i + j];
        for (var k = 0u; k < j; k++) {
          s -= l[row_i + k] * l[row_j + k];
        }
        lij = s / pivot;
      }
      l[row_i + j] = lij;
      if (i == j + 1u) {
        // Row i is now complete up to column j: its own pivot is next.
        var next = 0.0;
        if (pivot != 0.0) {
          var d = a[row_i + i];
          for (var k = 0u; k <= j; k++) {
            let v = l[row_i + k];
            d -= v * v;
          }
          if (is_good_pivot(d)) {
            next = sqrt(d);
          } else {
            status[m] = i32(i + 1u);
          }
        }
        l[row_i + i] = next;
      }
    }
    storageBarrier();
  }
}
