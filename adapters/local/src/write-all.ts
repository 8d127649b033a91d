/** The one method of `FileHandle` that {@link writeAll} needs. */
export type VectoredWriter = {
  writev(buffers: readonly NodeJS.ArrayBufferView[]): Promise<{ bytesWritten: number }>;
};

/**
 * Write every byte of `chunks`, in order, at the handle's current position, with as few vectored
 * writes as the file system allows. A write may stop short: libuv returns what it wrote when a
 * later system call fails or writes nothing, and the kernel may take less than asked under memory
 * pressure. The rest is then written again from where it stopped, so a short write that is only
 * transient costs one more call; one that makes no progress at all is an error, and the next
 * attempt's errno (ENOSPC, EDQUOT, EIO) reaches the caller if it fails outright.
 */
export async function writeAll(handle: VectoredWriter, chunks: readonly Uint8Array[]): Promise<void> {
  let remaining = chunks;
  let size = 0;
  for (const chunk of chunks) size += chunk.byteLength;
  let written = 0;
  while (written < size) {
    const { bytesWritten } = await handle.writev(remaining);
    if (bytesWritten <= 0) throw new Error(`a write made no progress after ${written} of ${size} bytes`);
    written += bytesWritten;
    remaining = dropBytes(remaining, bytesWritten);
  }
}

/** `chunks` without their first `count` bytes; views, not copies. */
function dropBytes(chunks: readonly Uint8Array[], count: number): readonly Uint8Array[] {
  let index = 0;
  let left = count;
  while (index < chunks.length && left >= chunks[index]!.byteLength) {
    left -= chunks[index]!.byteLength;
    index += 1;
  }
  if (index === chunks.length) return [];
  const first = chunks[index]!;
  return [first.subarray(left), ...chunks.slice(index + 1)];
}
