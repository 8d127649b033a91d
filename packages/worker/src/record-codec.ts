import { ErrorCode, FanoutError, MAX_RECORD_BYTES, PROTOCOL_VERSION, type InvocationFailureV1, type ResultRecordV1, type TaskOutcomeV1 } from '@fanout/spec';
import { deserializeValue, serializeValue } from './serialization.js';
import { rebuildWorkerError } from './worker-failure.js';

/**
 * Encode a result record. A task whose value cannot be serialized (a function, a symbol) gets
 * its outcome replaced by a `RESULT_NOT_SERIALIZABLE` error instead of losing the whole record;
 * when the values together would make the record larger than {@link MAX_RECORD_BYTES}, the
 * tasks' values are replaced by `PAYLOAD_TOO_LARGE` errors, so that the record can still be read.
 */
export function encodeRecord(record: ResultRecordV1): Buffer {
  let encoded: Buffer;
  try {
    encoded = serializeValue(record);
  } catch {
    encoded = serializeValue({ ...record, outcomes: record.outcomes.map((outcome, offset) => serializableOutcome(outcome, record.tasks.first + offset)) });
  }
  if (encoded.byteLength <= MAX_RECORD_BYTES) return encoded;
  const size = encoded.byteLength;
  return serializeValue({
    ...record,
    outcomes: record.outcomes.map((outcome, offset): TaskOutcomeV1 => {
      if (!outcome.ok) return outcome;
      const message = `Task ${record.tasks.first + offset} returned a value that, with the other results of its invocation, makes a result record of ${size} bytes; a record holds at most ${MAX_RECORD_BYTES}. Return less per task (write large outputs to storage and return their keys), or run fewer tasks per invocation (chunkSize).`;
      return { ok: false, durationMs: outcome.durationMs, error: { code: ErrorCode.PAYLOAD_TOO_LARGE, name: 'FanoutError', message } };
    }),
  });
}

function serializableOutcome(outcome: TaskOutcomeV1, index: number): TaskOutcomeV1 {
  if (!outcome.ok) return outcome;
  try {
    serializeValue(outcome.value);
    return outcome;
  } catch (error) {
    const reason = (error as Error).message.replace(/\.+$/, '');
    return {
      ok: false,
      durationMs: outcome.durationMs,
      error: {
        code: ErrorCode.RESULT_NOT_SERIALIZABLE,
        name: 'FanoutError',
        message: `Task ${index} returned a value that cannot be serialized: ${reason}. Return plain data (objects, arrays, strings, numbers, Uint8Array, Date, Map, Set, BigInt).`,
      },
    };
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

/** Encode what a platform says at a payload's `failedKey` about an invocation that ended without a record. */
export function encodeInvocationFailure(error: FanoutError, logTail?: string): Buffer {
  const failure: InvocationFailureV1 = {
    protocol: PROTOCOL_VERSION,
    code: error.code,
    message: error.message,
    retryable: error.retryable,
    ...(logTail ? { logTail } : {}),
  };
  return Buffer.from(JSON.stringify(failure));
}

/** Decode a failure signal into the error it reports. Throws `PROTOCOL_ERROR` for anything that is not one. */
export function decodeInvocationFailure(bytes: Uint8Array, where: string): FanoutError {
  let failure: Partial<InvocationFailureV1> | null;
  try {
    failure = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as Partial<InvocationFailureV1> | null;
  } catch (error) {
    throw protocolError(`${where} is not an invocation failure: ${(error as Error).message}`, error);
  }
  if (failure?.protocol !== PROTOCOL_VERSION || typeof failure.code !== 'string' || typeof failure.message !== 'string') {
    throw protocolError(`${where} is not a version ${PROTOCOL_VERSION} invocation failure.`);
  }
  const error = rebuildWorkerError({ code: failure.code, message: failure.message, ...(failure.retryable !== undefined ? { retryable: failure.retryable } : {}) });
  if (typeof failure.logTail !== 'string') return error;
  return new FanoutError(error.message, { code: error.code, retryable: error.retryable, fault: error.fault, logTail: failure.logTail });
}
