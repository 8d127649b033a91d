import { describe, expect, it } from 'vitest';
import { writeAll, type VectoredWriter } from './write-all.js';

/** A file that takes at most `limit` bytes per call, as a file system under pressure may. */
function shortWritingFile(limits: number[]): VectoredWriter & { bytes(): Buffer; calls: number } {
  const written: Buffer[] = [];
  let calls = 0;
  return {
    async writev(buffers) {
      const limit = limits[Math.min(calls, limits.length - 1)]!;
      calls += 1;
      const all = Buffer.concat(buffers.map((view) => Buffer.from(view.buffer, view.byteOffset, view.byteLength)));
      const taken = all.subarray(0, limit);
      written.push(Buffer.from(taken));
      return { bytesWritten: taken.byteLength };
    },
    bytes: () => Buffer.concat(written),
    get calls() {
      return calls;
    },
  };
}

describe('writeAll', () => {
  const chunks = [Buffer.from('head'), Buffer.from('0123456789'), Buffer.from(''), Buffer.from('tail!')];
  const expected = Buffer.concat(chunks);

  it('writes everything in one call when the file takes it all', async () => {
    const file = shortWritingFile([1 << 20]);
    await writeAll(file, chunks);
    expect(file.bytes()).toEqual(expected);
    expect(file.calls).toBe(1);
  });

  it('continues after short writes, including ones that stop inside a chunk', async () => {
    const file = shortWritingFile([6, 1, 4, 3]);
    await writeAll(file, chunks);
    expect(file.bytes().toString()).toBe(expected.toString());
  });

  it('fails, naming how far it got, when a write makes no progress', async () => {
    const file = shortWritingFile([5, 0]);
    await expect(writeAll(file, chunks)).rejects.toThrow('a write made no progress after 5 of 19 bytes');
  });

  it('writes nothing for an empty body', async () => {
    const file = shortWritingFile([0]);
    await writeAll(file, []);
    expect(file.calls).toBe(0);
  });
});
