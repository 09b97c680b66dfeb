// The WASM backend's memory: one growable linear memory, carved by this allocator. Blocks are
// rounded up to size classes (64-byte aligned, four classes per power of two) and freed blocks are
// kept per class for reuse, so a training loop that repeats its shapes stops growing after the
// first step. Kernels never allocate: every buffer (and every scratch area) is handed to them.
//
// Addresses run up to 4 GiB, past the int32 range: a block above 2 GiB is common after large fits
// (the ViT at R = 256 leaves the arena's top near 2 GiB). JavaScript's `>>` is a signed shift, so
// `ptr >> 2` of such an address is negative, and subarray()/fill()/set() count a negative index
// from the end of the memory: uploads and reads then hit another block while the kernels (which
// take the address as unsigned) use the right one. So every element index on this side comes
// from wordIndex() (`>>> 2`), and the views of a block from f32At()/i32At().

const ALIGN = 64;
const PAGE = 65536;

/** The size class of a request: multiples of 64 up to 1 KiB, then 2^e · {1, 1.25, 1.5, 1.75}. */
export function sizeClass(bytes: number): number {
  const b = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  if (b <= 1024) return b;
  const quarter = 2 ** (Math.floor(Math.log2(b)) - 2);
  return Math.ceil(b / quarter) * quarter;
}

/** Index of a 4-byte-aligned byte address in the 4-byte views (unsigned: addresses reach 4 GiB). */
export function wordIndex(ptr: number): number {
  return ptr >>> 2;
}

export class WasmHeap {
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  private freeCount = 0;
  private buffer: ArrayBuffer | null = null;
  private f32View = new Float32Array(0);
  private i32View = new Int32Array(0);

  constructor(
    private readonly memory: WebAssembly.Memory,
    base: number,
  ) {
    this.top = Math.ceil(base / ALIGN) * ALIGN;
  }

  /** A block of at least `bytes` bytes (contents undefined); returns its byte address. */
  allocate(bytes: number): { ptr: number; capacity: number } {
    const capacity = sizeClass(bytes);
    const list = this.freeLists.get(capacity);
    if (list && list.length > 0) {
      this.freeCount--;
      return { ptr: list.pop()!, capacity };
    }
    const ptr = this.top;
    const end = ptr + capacity;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      // Grow by at least a quarter of the current size, so that growth (which copies) stays rare.
      const pages = Math.max(Math.ceil((end - have) / PAGE), Math.ceil(have / PAGE / 4));
      try {
        this.memory.grow(pages);
      } catch {
        throw new RangeError(`wasm backend: out of memory (${have} bytes in use, ${capacity} more requested; WebAssembly allows 4 GiB)`);
      }
    }
    this.top = end;
    return { ptr, capacity };
  }

  free(ptr: number, capacity: number): void {
    let list = this.freeLists.get(capacity);
    if (!list) this.freeLists.set(capacity, (list = []));
    list.push(ptr);
    this.freeCount++;
  }

  /** Freed blocks kept for reuse (not leaks). */
  get pooledBlocks(): number {
    return this.freeCount;
  }

  /** Bytes of linear memory in use or pooled (the arena's high-water mark). */
  get reservedBytes(): number {
    return this.top;
  }

  private refresh(): void {
    if (this.buffer !== this.memory.buffer) {
      this.buffer = this.memory.buffer;
      this.f32View = new Float32Array(this.buffer);
      this.i32View = new Int32Array(this.buffer);
    }
  }

  /** The `length` float32 elements at byte address `ptr` (valid until the next allocate()). */
  f32At(ptr: number, length: number): Float32Array {
    const i = wordIndex(ptr);
    return this.f32.subarray(i, i + length);
  }

  /** The `length` int32 elements at byte address `ptr` (valid until the next allocate()). */
  i32At(ptr: number, length: number): Int32Array {
    const i = wordIndex(ptr);
    return this.i32.subarray(i, i + length);
  }

  /**
   * Views over the whole memory; fetch again after any allocate() (growth replaces the buffer).
   * Index them with wordIndex(), never `ptr >> 2`; f32At()/i32At() do both.
   */
  get f32(): Float32Array {
    this.refresh();
    return this.f32View;
  }

  get i32(): Int32Array {
    this.refresh();
    return this.i32View;
  }
}
