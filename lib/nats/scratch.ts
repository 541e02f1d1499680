/** Scratch buffers above this size are not kept for later calls. */
const KEEP_SCRATCH = 64 * 1024;

/** Slots of a scratch buffer's view cache (by length, direct-mapped). */
const VIEW_SLOTS = 64;

/**
 * A buffer reused from one call to the next by synchronous code (one call at a time uses it), with its views by
 * length: `subarray` builds a new typed array each time, and one per token costs more than a lookup (internal).
 */
export class Scratch {
  private buffer: Buffer;
  private views: (Buffer | undefined)[] = Array.from<Buffer | undefined>({
    length: VIEW_SLOTS,
  });

  constructor(
    size: number,
    private readonly prefix = '',
  ) {
    this.buffer = this.fresh(size);
  }

  /** The buffer, `size` bytes at least (a larger one kept for later calls up to `KEEP_SCRATCH`). */
  at(size: number): Buffer {
    if (size <= this.buffer.length) return this.buffer;
    const grown = this.fresh(size);
    if (size <= KEEP_SCRATCH) {
      this.buffer = grown;
      this.views = Array.from<Buffer | undefined>({ length: VIEW_SLOTS });
    }
    return grown;
  }

  /** The first `length` bytes of `buffer` (the one `at` returned) as a view. */
  view(buffer: Buffer, length: number): Buffer {
    if (buffer !== this.buffer) return buffer.subarray(0, length);
    const slot = length % VIEW_SLOTS;
    let view = this.views[slot];
    if (view?.length !== length) {
      view = buffer.subarray(0, length);
      this.views[slot] = view;
    }
    return view;
  }

  private fresh(size: number): Buffer {
    const buffer = Buffer.allocUnsafe(size);
    buffer.write(this.prefix, 0, 'latin1');
    return buffer;
  }
}
