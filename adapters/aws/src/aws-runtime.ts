/**
 * The Lambda entry point (`index.handler` in the deployed zip). It runs no task itself: each
 * execution environment keeps one supervised child process running the generic `Worker`
 * (`aws-worker-process.ts`, a `WorkerProcess` of `@fanout/worker`), which keeps its imported code
 * bundles while the environment is warm. Whatever a task does to its process (`process.exit`, an
 * error thrown from a callback, a full heap, a loop past the payload's `timeoutMs`) ends the
 * child; this process sees how, writes the classified failure of an asynchronous invocation at
 * its `failedKey` (through a fresh child, which also serves the next invocation), and answers.
 * The client learns of the crash at its next listing, and its retry finds a warm environment,
 * where without the supervisor it would wait for suspicion and then a cold start (decision 0014).
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { base64, decodeJsonPayload } from '@fanout/adapter-kit';
import { encodeInvocationFailure, transportWorkerError, WorkerProcess, type WorkerProcessOutcome } from '@fanout/worker';
import { MAX_RESPONSE_RECORD_BYTES, RUNTIME_RESPONSE_VERSION, type RuntimeResponse } from './lambda-protocol.js';

/** The parts of Lambda's context object the handler reads. */
export type LambdaContext = {
  awsRequestId?: string;
  functionName?: string;
  getRemainingTimeInMillis?: () => number;
};

/** The child's entry, beside this file: `aws-worker-process.mjs` in the zip, `.js` in `dist/`. */
const CHILD_ENTRY = fileURLToPath(new URL(`./aws-worker-process${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

const CHILD_LABEL = 'Lambda worker process';

/**
 * Of the function's memory, what the child's heap may not use: this process (Node and the Lambda
 * runtime client, about 50 MB resident) and the child's own memory outside its heap (code, young
 * generation, buffers). A heap that fills is then the child's `OUT_OF_MEMORY`, reported with
 * advice, rather than the whole environment killed by Lambda.
 */
export const SUPERVISOR_RESERVE_MB = 128;
/** The smallest heap the child gets, whatever the function's memory. */
const MIN_CHILD_HEAP_MB = 64;

/** The child's heap limit for a function of `memoryMb`. */
export function childHeapMb(memoryMb: number): number {
  return Math.max(MIN_CHILD_HEAP_MB, memoryMb - SUPERVISOR_RESERVE_MB);
}

let child: WorkerProcess | undefined;

/** This environment's worker process, started again after one ended. */
function workerProcess(): WorkerProcess {
  if (!child || child.ended) {
    child = new WorkerProcess({
      entry: CHILD_ENTRY,
      label: CHILD_LABEL,
      init: { settings: null, maxResponseBytes: MAX_RESPONSE_RECORD_BYTES },
      heapMb: childHeapMb(Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE) || 1024),
      // The function's own environment: the child opens S3 from it, with the function's role.
      env: process.env,
      cwd: process.env.LAMBDA_TASK_ROOT ?? process.cwd(),
      // Lambda collects this process's output into the function's log; the child's joins it.
      stdout: 'inherit',
      echoStderr: true,
      memoryAdvice: 'Give the function more memory (the compute option memoryMb, then `fanout deploy`), or make the task use less (process its input in smaller pieces).',
    });
  }
  return child;
}

/**
 * Run one invocation. The record comes back in the response when the payload asks for it
 * (synchronous mode) and fits, and is written to S3 unless it came back and the payload says
 * `durable: false`. A failure of the invocation as a whole is returned, not thrown: Lambda would
 * retry a thrown asynchronous invocation on its own, and core owns retries.
 */
export async function handler(event: unknown, _context?: LambdaContext): Promise<RuntimeResponse> {
  let outcome: WorkerProcessOutcome;
  let failedKey: string | undefined;
  try {
    const payload = decodeJsonPayload(event);
    failedKey = payload.failedKey;
    outcome = await workerProcess().run(payload, payload.respond === true);
  } catch (error) {
    return { fanout: RUNTIME_RESPONSE_VERSION, error: transportWorkerError(error, 'The Lambda runtime') };
  }
  if ('record' in outcome) {
    return outcome.record ? { fanout: RUNTIME_RESPONSE_VERSION, record: base64(outcome.record) } : { fanout: RUNTIME_RESPONSE_VERSION, stored: true };
  }
  const { error, reported } = outcome;
  // Nobody reads an asynchronous invocation's response: its failure goes where the client looks.
  // Not retried when the write fails: the client's run deadline still finds the invocation.
  if (!reported && failedKey !== undefined) await workerProcess().report(failedKey, encodeInvocationFailure(error, error.logTail));
  return { fanout: RUNTIME_RESPONSE_VERSION, error: transportWorkerError(error, 'The Lambda runtime') };
}
