// Batched symmetric eigendecomposition A = V diag(w) Vᵀ by parallel cyclic Jacobi, one workgroup
// per matrix, working in global memory: `work` holds per matrix a copy of A, Vᵀ (row r = column r
// of V, so rotations touch two contiguous rows), and two sets of per-pair rotation arrays
// (c, s, p, q), used alternately by round parity.
//
// A sweep is n2 − 1 rounds of a round-robin (chess-tournament) ordering of n2 = n rounded up to even
// players (odd n gets a dummy player n whose rotation is the identity): position 0 is fixed, the
// others move by one each round, and pair k matches positions k and n2 − 1 − k. Every round holds
// n2/2 disjoint pairs, so all their rotations commute and are applied at once:
//   1. angles:  one invocation per pair (p < q) computes the rotation J that zeroes A[p][q] and
//               updates the 2×2 diagonal block itself (a_pp − t a_pq, a_qq + t a_pq, a_pq = 0);
//   2. update:  the invocation of pair P owns rows p and q of A and of Vᵀ. For every other pair
//               R = (r, u) it writes rows p, q of J_Pᵀ · A[{p,q},{r,u}] · J_R (the mirror entries
//               are computed by R's owner, so each invocation touches only its own rows), then
//               rotates rows p, q of Vᵀ.
// Two barriers per round, so O(n) per sweep. A rotation is skipped when
// |a_pq| ≤ max(tol·sqrt(|a_pp a_qq|), floor_rel · max|A|) (the relative test keeps small
// eigenvalues accurate; the absolute floor stops rotating pure rounding noise). Sweeps stop after
// one with no rotation at all, or after max_sweeps. Finally the diagonal is ranked (ascending,
// NaN last, ties by index) and each eigenvector is written to its rank's column, rescaled to unit
// length (float32 rotations drift the norms by ~n·sweeps rounding errors; this takes ‖QᵀQ − I‖
// from ~2n·eps to ~10 eps) and with its largest component made positive (deterministic signs, as
// in the CPU twin). Only A's lower triangle is read.

struct Params {
  n: u32,
  batch: u32,
  // Matrix index = workgroup_id.x + workgroup_id.y * groups_x.
  groups_x: u32,
  max_sweeps: u32,
  tol: f32,
  floor_rel: f32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> vectors: array<f32>;
@group(0) @binding(4) var<storage, read_write> work: array<f32>;

override WG: u32 = 64u;
const MAX_WG: u32 = 256u;

var<workgroup> partial_max: array<f32, MAX_WG>;
var<workgroup> shared_max: f32;
var<workgroup> sweep_rotations: atomic<u32>;
var<workgroup> converged: u32;

/** The player at tournament position `pos` in round `round`. */
fn player(pos: u32, round: u32, n2: u32) -> u32 {
  if (pos == 0u) {
    return 0u;
  }
  return 1u + (pos - 1u + round) % (n2 - 1u);
}

/** Monotonic u32 key of a float: ascending order with (positive) NaN last. */
fn sort_key(v: f32) -> u32 {
  let bits = bitcast<u32>(v);
  return select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let m = wid.x + wid.y * params.groups_x;
  if (m >= params.batch) {
    return; // uniform: the whole workgroup leaves
  }
  let n = params.n;
  let n2 = n + (n & 1u);
  let pairs = n2 / 2u;
  let nn = n * n;
  let in_base = m * nn;
  let w_a = m * (2u * nn + 8u * pairs);
  let w_v = w_a + nn;
  let w_rot = w_v + nn;

  // Working copy of A (mirrored from its lower triangle), Vᵀ = I, and max |A| for the noise floor.
  var local_max = 0.0;
  for (var idx = tid; idx < nn; idx += WG) {
    let i = idx / n;
    let j = idx % n;
    let v = a[in_base + max(i, j) * n + min(i, j)];
    work[w_a + idx] = v;
    work[w_v + idx] = select(0.0, 1.0, i == j);
    local_max = max(local_max, abs(v));
  }
  partial_max[tid] = local_max;
  workgroupBarrier();
  if (tid == 0u) {
    var mx = 0.0;
    for (var t = 0u; t < WG; t++) {
      mx = max(mx, partial_max[t]);
    }
    shared_max = mx;
  }
  let floor_abs = workgroupUniformLoad(&shared_max) * params.floor_rel;
  storageBarrier();

  for (var sweep = 0u; sweep < params.max_sweeps; sweep++) {
    var rotated = false;
    for (var round = 0u; round + 1u < n2; round++) {
      // This round's rotations: c, s and the pair (p < q) as exact small floats; q = n is the dummy.
      let rot_c = w_rot + (round & 1u) * 4u * pairs;
      let rot_s = rot_c + pairs;
      let rot_p = rot_s + pairs;
      let rot_q = rot_p + pairs;

      // 1. Angles, and the diagonal blocks.
      for (var k = tid; k < pairs; k += WG) {
        let x = player(k, round, n2);
        let y = player(n2 - 1u - k, round, n2);
        let p = min(x, y);
        let q = max(x, y);
        var c = 1.0;
        var s = 0.0;
        if (q < n) {
          let app = work[w_a + p * n + p];
          let aqq = work[w_a + q * n + q];
          let apq = work[w_a + p * n + q];
          let threshold = max(floor_abs, params.tol * sqrt(abs(app)) * sqrt(abs(aqq)));
          if (abs(apq) > threshold) {
            // t = tan θ, the smaller root of t² + 2τt − 1 = 0 (|θ| ≤ π/4).
            let tau = (aqq - app) / (2.0 * apq);
            var t = 0.5 / tau;
            if (abs(tau) < 1e10) {
              t = select(-1.0, 1.0, tau >= 0.0) / (abs(tau) + sqrt(1.0 + tau * tau));
            }
            c = 1.0 / sqrt(1.0 + t * t);
            s = t * c;
            work[w_a + p * n + p] = app - t * apq;
            work[w_a + q * n + q] = aqq + t * apq;
            work[w_a + p * n + q] = 0.0;
            work[w_a + q * n + p] = 0.0;
            rotated = true;
          }
        }
        work[rot_c + k] = c;
        work[rot_s + k] = s;
        work[rot_p + k] = f32(p);
        work[rot_q + k] = f32(q);
      }
      storageBarrier();

      // 2. The invocation of pair P updates rows p and q of A and of Vᵀ (see the top of the file).
      for (var pr = tid; pr < pairs; pr += WG) {
        let cp = work[rot_c + pr];
        let sp = work[rot_s + pr];
        let p = u32(work[rot_p + pr]);
        let q = u32(work[rot_q + pr]);
        let q_ok = q < n;
        let row_p = w_a + p * n;
        let row_q = w_a + min(q, n - 1u) * n;
        for (var rr = 0u; rr < pairs; rr++) {
          let sr = work[rot_s + rr];
          if (rr == pr || (sp == 0.0 && sr == 0.0)) {
            continue;
          }
          let cr = work[rot_c + rr];
          let r = u32(work[rot_p + rr]);
          let u = u32(work[rot_q + rr]);
          let u_ok = u < n;
          let uu = min(u, n - 1u);
          let x_pr = work[row_p + r];
          let x_pu = select(0.0, work[row_p + uu], u_ok);
          let x_qr = select(0.0, work[row_q + r], q_ok);
          let x_qu = select(0.0, work[row_q + uu], q_ok && u_ok);
          let y_pr = cp * x_pr - sp * x_qr;
          let y_qr = sp * x_pr + cp * x_qr;
          let y_pu = cp * x_pu - sp * x_qu;
          let y_qu = sp * x_pu + cp * x_qu;
          work[row_p + r] = cr * y_pr - sr * y_pu;
          if (u_ok) {
            work[row_p + u] = sr * y_pr + cr * y_pu;
          }
          if (q_ok) {
            work[row_q + r] = cr * y_qr - sr * y_qu;
            if (u_ok) {
              work[row_q + u] = sr * y_qr + cr * y_qu;
            }
          }
        }
        if (sp != 0.0) {
          let v_p = w_v + p * n;
          let v_q = w_v + q * n;
          for (var j = 0u; j < n; j++) {
            let vp = work[v_p + j];
            let vq = work[v_q + j];
            work[v_p + j] = cp * vp - sp * vq;
            work[v_q + j] = sp * vp + cp * vq;
          }
        }
      }
      storageBarrier();
    }

    if (rotated) {
      atomicOr(&sweep_rotations, 1u);
    }
    workgroupBarrier();
    if (tid == 0u) {
      converged = select(0u, 1u, atomicLoad(&sweep_rotations) == 0u);
      atomicStore(&sweep_rotations, 0u);
    }
    if (workgroupUniformLoad(&converged) != 0u) {
      break;
    }
  }

  // Rank the eigenvalues and write each (value, vector) pair to its slot.
  for (var j = tid; j < n; j += WG) {
    let dj = work[w_a + j * n + j];
    let kj = sort_key(dj);
    var rank = 0u;
    for (var i = 0u; i < n; i++) {
      let ki = sort_key(work[w_a + i * n + i]);
      rank += select(0u, 1u, ki < kj || (ki == kj && i < j));
    }
    values[m * n + rank] = dj;
    // Unit length, largest component positive.
    var biggest = -1.0;
    var flip = 1.0;
    var norm2 = 0.0;
    let row = w_v + j * n;
    for (var i = 0u; i < n; i++) {
      let v = work[row + i];
      norm2 += v * v;
      if (abs(v) > biggest) {
        biggest = abs(v);
        flip = select(1.0, -1.0, v < 0.0);
      }
    }
    let scale = flip / sqrt(norm2);
    for (var i = 0u; i < n; i++) {
      vectors[in_base + i * n + rank] = scale * work[row + i];
    }
  }
}
