// General batched matmul: any m, n, k, either operand transposed, broadcast batch offsets.
// Scalar loads through element strides, so no alignment is needed; rows and columns past the edge
// are clamped on load and skipped on store. No workgroup memory (barriers are slow on SwiftShader).
// A 4×4 block of C is held as a mat4x4f whose column i is row i of the block, and one step of k
// adds outer(B(p, cols), A(rows, p)).
//
// Entry points: main8 — each invocation computes 8×8 of C (2×2 blocks; fewer loads per multiply,
// best on SwiftShader), main4 — one 4×4 block (hardware GPUs).

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
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

struct Tile {
  valid: bool,
  row0: u32,
  col0: u32,
  batch: u32,
  aOffset: u32,
  bOffset: u32,
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
  t.aOffset = params.aStrides.w + dot(batchIndex, params.aStrides.xyz);
  t.bOffset = params.bStrides.w + dot(batchIndex, params.bStrides.xyz);
  return t;
}

// A(i, p) = a[aOffset + i·aRowStride() + p·aKStride()], B(p, j) = b[bOffset + p·bKStride() + j·bColStride()]
fn aRowStride() -> u32 {
  return select(params.k, 1u, TRANS_A);
}
fn aKStride() -> u32 {
  return select(1u, params.m, TRANS_A);
}
fn bKStride() -> u32 {
  return select(params.n, 1u, TRANS_B);
}
fn bColStride() -> u32 {
  return select(1u, params.k, TRANS_B);
}

/** Element offsets of rows row..row+3 of A at p = 0 (clamped to the last row). */
fn aStart(t: Tile, row: u32) -> vec4u {
  let rows = min(vec4u(row) + vec4u(0u, 1u, 2u, 3u), vec4u(params.m - 1u));
  return vec4u(t.aOffset) + rows * aRowStride();
}

/** Element offsets of columns col..col+3 of B at p = 0 (clamped to the last column). */
fn bStart(t: Tile, col: u32) -> vec4u {
  let cols = min(vec4u(col) + vec4u(0u, 1u, 2u, 3u), vec4u(params.n - 1u));
  return vec4u(t.bOffset) + cols * bColStride();
}

fn gatherA(i: vec4u) -> vec4f {
  return vec4f(a[i.x], a[i.y], a[i.z], a[i.w]);
}

fn gatherB(i: vec4u) -> vec4f {
  return vec4f(b[i.x], b[i.y], b[i.z], b[i.w]);
}

/** The block update of one k step: column i gets B(p, cols) · A(row i, p). */
fn outer(bv: vec4f, av: vec4f) -> mat4x4f {
  return mat4x4f(bv * av.x, bv * av.y, bv * av.z, bv * av.w);
}

/** Stores rows row..row+3, columns col..col+3 of C (a block held as columns), skipping what lies past the edge. */
fn storeBlock(out0: u32, row: u32, col: u32, blk: mat4x4f) {
  let m = params.m;
  let n = params.n;
  if (row >= m || col >= n) {
    return;
  }
  let colsLeft = n - col;
  for (var i = 0u; i < 4u; i++) {
    if (row + i < m) {
      let o = out0 + (row + i) * n + col;
      let v = blk[i];
      c[o] = v.x;
      if (colsLeft > 1u) {
        c[o + 1u] = v.y;
      }
      if (colsLeft > 2u) {
        c[o + 2u] = v.z;
      }
      if (colsLeft > 3u) {
        c[o + 3u] = v.w;
      }
    }
  }
}

fn outStart(t: Tile) -> u32 {
  return params.outBase + t.batch * params.m * params.n;
}

@compute @workgroup_size(WG_X, WG_Y)
fn main8(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = locate(wg, lid, 8u);
  if (!t.valid) {
    return;
  }
  var ia0 = aStart(t, t.row0);
  var ia1 = aStart(t, t.row0 + 4u);
  var ib0 = bStart(t, t.col0);
  var ib1 = bStart(t, t.col0 + 4u);
  let aStep = vec4u(aKStride());
  let bStep = vec4u(bKStride());
  var c00 = mat4x4f();
  var c01 = mat4x4f();
  var c10 = mat4x4f();
  var c11 = mat4x4f();
  for (var p = 0u; p < params.k; p++) {
    let a0 = gatherA(ia0);
    let a1 = gatherA(ia1);
    let b0 = gatherB(ib0);
    let b1 = gatherB(ib1);
    c00 += outer(b0, a0);
    c01 += outer(b1, a0);
    c10 += outer(b0, a1);
    c11 += outer(b1, a1);
    ia0 += aStep;
    ia1 += aStep;
    ib0 += bStep;
    ib1 += bStep;
  }
  let o = outStart(t);
  storeBlock(o, t.row0, t.col0, c00);
  storeBlock(o, t.row0, t.col0 + 4u, c01);
  storeBlock(o, t.row0 + 4u, t.col0, c10);
  storeBlock(o, t.row0 + 4u, t.col0 + 4u, c11);
}

@compute @workgroup_size(WG_X, WG_Y)
fn main4(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = locate(wg, lid, 4u);
  if (!t.valid) {
    return;
  }
  var ia = aStart(t, t.row0);
  var ib = bStart(t, t.col0);
  let aStep = vec4u(aKStride());
  let bStep = vec4u(bKStride());
  var acc = mat4x4f();
  for (var p = 0u; p < params.k; p++) {
    acc += outer(gatherB(ib), gatherA(ia));
    ia += aStep;
    ib += bStep;
  }
  storeBlock(outStart(t), t.row0, t.col0, acc);
}
