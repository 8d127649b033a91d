import { ErrorCode, FanoutError, PROTOCOL_VERSION, type ResultRecordV1, type TaskOutcomeV1 } from '@fanout/spec';
import { deserializeValue, serializeValue } from './serialization.js';

/**
 * Encode a result record. A task whose value cannot be serialized (a function, a symbol) gets
 * its outcome replaced by a `RESULT_NOT_SERIALIZABLE` error instead of losing the whole record.
 */
export function encodeRecord(record: ResultRecordV1): Buffer {
  try {
    return serializeValue(record);
  } catch {
    const outcomes = record.outcomes.map((outcome, offset): TaskOutcomeV1 => {
      if (!outcome.ok) return outcome;
      try {
        serializeValue(outcome.value);
        return outcome;
      } catch (error) {
        return {
          ok: false,
          durationMs: outcome.durationMs,
          error: {
            code: ErrorCode.RESULT_NOT_SERIALIZABLE,
            name: 'FanoutError',
            message: `Task ${record.tasks.first + offset} returned a value that cannot be serialized: ${(error as Error).message}. Return plain data (objects, arrays, strings, numbers, Uint8Array, Date, Map, Set, BigInt).`,
          },
        };
      }
    });
    return serializeValue({ ...record, outcomes });
  }
}

/** Decode and check a result record. Throws `PROTOCOL_ERROR` for anything that is not one. */
export function decodeRecord(bytes: Uint8Array, where: string): ResultRecordV1 {
  let record: unknown;
  try {
    record = deserializeValue(bytes);
  } catch (error) {
    throw protocolError(`${where} is not a result record: ${(error as Error).message}`, error);
  }
  const candidate = record as Partial<ResultRecordV1> | null;
  if (typeof candidate !== 'object' || candidate === null || candidate.protocol !== PROTOCOL_VERSION) {
    throw protocolError(
      `${where} is not a version ${PROTOCOL_VERSION} result record (protocol ${String(candidate?.protocol)}).`,
    );
  }
  if (!Array.isArray(candidate.outcomes) || candidate.outcomes.length !== candidate.tasks?.count) {
    throw protocolError(`${where} has ${candidate.outcomes?.length} outcomes for ${candidate.tasks?.count} tasks.`);
  }
  return candidate as ResultRecordV1;
}

function protocolError(message: string, cause?: unknown): FanoutError {
  return new FanoutError(message, { code: ErrorCode.PROTOCOL_ERROR, fault: 'backend', cause });
}
