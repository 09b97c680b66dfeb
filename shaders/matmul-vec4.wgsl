// Fast batched matmul for aligned shapes, register-blocked with vec4 loads and no workgroup memory
// (barriers are slow on SwiftShader; the register block gives the reuse).
//
// The unit of work is a 4×4 block of C updated from a 4×4 block of A and of B per 4 steps of k,
// written as one mat4x4f product. A block is held "row-major": column i of the mat4x4f is row i of
// the block. Then for C = A B with Ab = [A rows as columns] and Bb = [B rows as columns],
// Cb += Bb · Ab (column i of Bb·Ab is Σ_t A(i,t)·B(t,:), i.e. row i of the product). Transposed
// operands load their vectors along the other dim and transpose in registers, which is free.
//
// Entry points: main16 — each invocation computes 16×16 of C (4×4 blocks; best on SwiftShader),
// main4 — each computes one 4×4 block (hardware GPUs, where 16×16 would spill registers).
//
// Alignment the dispatch guarantees: n % 4 == 0 (vec4 stores), k % 4 == 0 unless the shape is
// Aᵀ B (then a ragged last k step is masked), m % 4 == 0 when a is transposed. Rows and columns
// past the edge of C are clamped on load and skipped on store. Offsets are in elements and
// multiples of 4.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  tilesN: u32,
  tilesM: u32,
  tileCount: u32, // tilesN · tilesM · batches in this dispatch
  gridX: u32,
  gridXY: u32,
  batchSize1: u32, // the two inner batch dims (the outer one needs no size)
  batchSize2: u32,
  outBase: u32,
  _pad: u32,
  aStrides: vec4u, // xyz: element stride of batch dims 0..2, w: base offset
  bStrides: vec4u,
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override WG_X: u32 = 4u;
override WG_Y: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4f>;

struct Tile {
  valid: bool,
  row0: u32,
  col0: u32,
  batch: u32,
  a4: u32, // start of this batch entry's a and b, in vec4s
  b4: u32,
}

fn locate(wg: vec3u, lid: vec3u, size: u32) -> Tile {
  var t: Tile;
  // Workgroups are numbered linearly over (n tiles, m tiles, batch) so no grid dim overflows.
  let wid = wg.x + wg.y * params.gridX + wg.z * params.gridXY;
  let tileN = wid % params.tilesN;
  let rest = wid / params.tilesN;
  let tileM = rest % params.tilesM;
  t.batch = rest / params.tilesM;
  t.row0 = (tileM * WG_Y + lid.y) * size;
  t.col0 = (tileN * WG_X + lid.x) * size;
  t.valid = wid < params.tileCount && t.row0 < params.m && t.col0 < params.n;
  let i2 = t.batch % params.batchSize2;
  let i1 = (t.batch / params.batchSize2) % params.batchSize1;
  let i0 = t.batch / (params.batchSize2 * params.batchSize1);
  let batchIndex = vec3u(i0, i1, i2);
  t.a4 = (params.aStrides.w + dot(batchIndex, params.aStrides.xyz)) / 4u;
  t.b4 = (params.bStrides.w + dot(batchIndex, params.bStrides.xyz)) / 4u;
  return t;
}

/** Zero the vectors t ≥ kLeft of a block loaded along k (only the ragged last step of Aᵀ B). */
fn maskK(v: mat4x4f, kLeft: u32) -> mat4x4f {
  if (kLeft >= 4u) {
    return v;
  }
  let z = vec4f(0.0);
  return mat4x4f(v[0], select(z, v[1], kLeft > 1u), select(z, v[2], kLeft > 2u), z);
}

/** Rows row..row+3 of A at k = 4q..4q+3, as columns. kLeft = k − 4q. */
fn loadA(a4: u32, row: u32, q: u32, kLeft: u32) -> mat4x4f {
  if (TRANS_A) {
    // a is [k, m]: vector j of k-row p holds A(4j..4j+3, p)
    let m4 = params.m / 4u;
    let i = a4 + 4u * q * m4 + min(row / 4u, m4 - 1u);
    return transpose(maskK(mat4x4f(a[i], a[i + m4], a[i + 2u * m4], a[i + 3u * m4]), kLeft));
  }
  let k4 = params.k / 4u;
  let rows = min(vec4u(row) + vec4u(0u, 1u, 2u, 3u), vec4u(params.m - 1u));
  let i = vec4u(a4 + q) + rows * k4;
  return mat4x4f(a[i.x], a[i.y], a[i.z], a[i.w]);
}

/** Rows 4q..4q+3 of B at columns col..col+3, as columns. */
fn loadB(b4: u32, col: u32, q: u32, kLeft: u32) -> mat4x4f {
  if (TRANS_B) {
    // b is [n, k]: row j holds B(:, j) along k
    let k4 = params.k / 4u;
    let cols = min(vec4u(col) + vec4u(0u, 1u, 2u, 3u), vec4u(params.n - 1u));
    let i = vec4u(b4 + q) + cols * k4;
    return transpose(mat4x4f(b[i.x], b[i.y], b[i.z], b[i.w]));
  }
  let n4 = params.n / 4u;
  let i = b4 + 4u * q * n4 + min(col / 4u, n4 - 1u);
  return maskK(mat4x4f(b[i], b[i + n4], b[i + 2u * n4], b[i + 3u * n4]), kLeft);
}

/** Stores rows row..row+3 of C (a block held as columns) at column col, skipping rows and columns past the edge. */
fn storeBlock(out4: u32, row: u32, col: u32, blk: mat4x4f) {
  if (row >= params.m || col >= params.n) {
    return;
  }
  let n4 = params.n / 4u;
  let i = out4 + row * n4 + col / 4u;
  let rowsLeft = params.m - row;
  c[i] = blk[0];
  if (rowsLeft > 1u) {
    c[i + n4] = blk[1];
  }
  if (rowsLeft > 2u) {
    c[i + 2u * n4] = blk[2];
  }
  if (rowsLeft > 3u) {
    c[i + 3u * n4] = blk[3];
  }
}

fn outStart(t: Tile) -> u32 {
  return (params.outBase + t.batch * params.m * params.n) / 4u;
}

// The 4×4 blocks of a 16×16 tile of C; cRC is block row R, block column C.
struct Acc16 {
  c00: mat4x4f,
  c01: mat4x4f,
  c02: mat4x4f,
  c03: mat4x4f,
  c10: mat4x4f,
  c11: mat4x4f,
  c12: mat4x4f,
  c13: mat4x4f,
  c20: mat4x4f,
  c21: mat4x4f,
  c22: mat4x4f,
  c23: mat4x4f,
  c30: mat4x4f,
  c31: mat4x4f,
  c32: mat4x4f,
  c33: mat4x4f,
}

/** One step of k for the 16×16 tile: blocks of A rows a0..a3, blocks of B columns b0..b3. */
fn accumulate16(
  acc: ptr<function, Acc16>,
  a0: mat4x4f,
  a1: mat4x4f,
  a2: mat4x4f,
  a3: mat4x4f,
  b0: mat4x4f,
  b1: mat4x4f,
  b2: mat4x4f,
  b3: mat4x4f,
) {
  (*acc).c00 += b0 * a0;
  (*acc).c01 += b1 * a0;
  (*acc).c02 += b2 * a0;
  (*acc).c03 += b3 * a0;
  (*acc).c10 += b0 * a1;
  (*acc).c11 += b1 * a1;
  (*acc).c12 += b2 * a1;
  (*acc).c13 += b3 * a1;
  (*acc).c20 += b0 * a2;
  (*acc).c21 += b1 * a2;
  (*acc).c22 += b2 * a2;
  (*acc).c23 += b3 * a2;
  (*acc).c30 += b0 * a3;
  (*acc).c31 += b1 * a3;
  (*acc).c32 += b2 * a3;
  (*acc).c33 += b3 * a3;
}

/**
 * Loads and accumulates step q (k = 4q..4q+3). Called with kLeft = 4 in the main loop so the masking
 * folds away, and once with the remainder for a ragged k (Aᵀ B only).
 */
fn step16(acc: ptr<function, Acc16>, t: Tile, q: u32, kLeft: u32) {
  accumulate16(
    acc,
    loadA(t.a4, t.row0, q, kLeft),
    loadA(t.a4, t.row0 + 4u, q, kLeft),
    loadA(t.a4, t.row0 + 8u, q, kLeft),
    loadA(t.a4, t.row0 + 12u, q, kLeft),
    loadB(t.b4, t.col0, q, kLeft),
    loadB(t.b4, t.col0 + 4u, q, kLeft),
    loadB(t.b4, t.col0 + 8u, q, kLeft),
    loadB(t.b4, t.col0 + 12u, q, kLeft),
  );
}

@compute @workgroup_size(WG_X, WG_Y)
fn main16(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = locate(wg, lid, 16u);
  if (!t.valid) {
    return;
  }
  var acc: Acc16;
  let fullSteps = params.k / 4u;
  for (var q = 0u; q < fullSteps; q++) {
    step16(&acc, t, q, 4u);
  }
  if (fullSteps * 4u < params.k) {
    step16(&acc, t, fullSteps, params.k - fullSteps * 4u);
  }
  let o = outStart(t);
  storeBlock(o, t.row0, t.col0, acc.c00);
  storeBlock(o, t.row0, t.col0 + 4u, acc.c01);
  storeBlock(o, t.row0, t.col0 + 8u, acc.c02);
  storeBlock(o, t.row0, t.col0 + 12u, acc.c03);
  storeBlock(o, t.row0 + 4u, t.col0, acc.c10);
  storeBlock(o, t.row0 + 4u, t.col0 + 4u, acc.c11);
  storeBlock(o, t.row0 + 4u, t.col0 + 8u, acc.c12);
  storeBlock(o, t.row0 + 4u, t.col0 + 12u, acc.c13);
  storeBlock(o, t.row0 + 8u, t.col0, acc.c20);
  storeBlock(o, t.row0 + 8u, t.col0 + 4u, acc.c21);
  storeBlock(o, t.row0 + 8u, t.col0 + 8u, acc.c22);
  storeBlock(o, t.row0 + 8u, t.col0 + 12u, acc.c23);
  storeBlock(o, t.row0 + 12u, t.col0, acc.c30);
  storeBlock(o, t.row0 + 12u, t.col0 + 4u, acc.c31);
  storeBlock(o, t.row0 + 12u, t.col0 + 8u, acc.c32);
  storeBlock(o, t.row0 + 12u, t.col0 + 12u, acc.c33);
}

@compute @workgroup_size(WG_X, WG_Y)
fn main4(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = locate(wg, lid, 4u);
  if (!t.valid) {
    return;
  }
  var acc = mat4x4f();
  let fullSteps = params.k / 4u;
  for (var q = 0u; q < fullSteps; q++) {
    acc += loadB(t.b4, t.col0, q, 4u) * loadA(t.a4, t.row0, q, 4u);
  }
  if (fullSteps * 4u < params.k) {
    let kLeft = params.k - fullSteps * 4u;
    acc += loadB(t.b4, t.col0, fullSteps, kLeft) * loadA(t.a4, t.row0, fullSteps, kLeft);
  }
  storeBlock(outStart(t), t.row0, t.col0, acc);
}
