import { ErrorCode, FanoutError } from '@fanout/spec';
import { serializeValue, serializeValueToParts } from '@fanout/worker';
import { replayableBody } from './retrying-storage.js';

/** Parts at least this large are streamed as they are; smaller ones are joined into blocks. */
const LARGE_PART_BYTES = 16 * 1024;

/** Most bytes of small parts joined into one block. */
const SMALL_PARTS_BLOCK_BYTES = 1024 * 1024;

/**
 * The job object's bytes, replayable for retries. Large parts (inputs' serialized bytes, or the
 * caller's own arrays) are streamed as they are, never copied on the client: the storage decides
 * how to batch its writes (the folder storage uses vectored writes, an S3 upload gathers its own
 * parts). Runs of small parts (frame headers, small inputs) are joined, so that a job of many
 * small inputs is not streamed as tens of thousands of chunks.
 */
export function streamParts(parts: readonly Uint8Array[]): AsyncIterable<Uint8Array> {
  return replayableBody(async function* () {
    let small: Uint8Array[] = [];
    let size = 0;
    for (const part of parts) {
      if (part.byteLength < LARGE_PART_BYTES) {
        small.push(part);
        size += part.byteLength;
        if (size < SMALL_PARTS_BLOCK_BYTES) continue;
      }
      if (size > 0) yield Buffer.concat(small, size);
      small = [];
      size = 0;
      if (part.byteLength >= LARGE_PART_BYTES) yield part;
    }
    if (size > 0) yield Buffer.concat(small, size);
  });
}

/** One input's serialized parts, or `INPUT_NOT_SERIALIZABLE` naming its index. */
export function serializeInput(input: unknown, index: number, referenceViews: boolean): Uint8Array[] {
  try {
    return referenceViews ? serializeValueToParts(input) : [serializeValue(input)];
  } catch (error) {
    throw new FanoutError(
      `Input ${index} cannot be serialized: ${(error as Error).message}. Inputs must be plain data (objects, arrays, strings, numbers, Uint8Array, Date, Map, Set, BigInt), not functions, symbols or class instances with methods.`,
      { code: ErrorCode.INPUT_NOT_SERIALIZABLE, fault: 'caller', taskIndex: index, cause: error },
    );
  }
}
