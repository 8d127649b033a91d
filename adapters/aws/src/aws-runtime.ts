/**
 * The Lambda entry point (`index.handler` in the deployed zip). It runs no task itself: each
 * execution environment keeps one supervised child process running the generic `Worker`
 * (`aws-worker-process.ts`), through `@fanout/worker`'s `FunctionRuntime`, which keeps its
 * imported code bundles while the environment is warm. A crash, a full heap or a run past the
 * payload's `timeoutMs` ends the child only; the failure of an asynchronous invocation is written
 * at its `failedKey` at once, so the client learns of it at its next listing, and its retry finds
 * a warm environment, where without the supervisor it would wait for suspicion and then a cold
 * start (decision 0014).
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FunctionRuntime, type RuntimeResponse } from '@fanout/worker';
import { MAX_RESPONSE_RECORD_BYTES } from './lambda-protocol.js';

/** The parts of Lambda's context object the handler reads. */
export type LambdaContext = {
  awsRequestId?: string;
  functionName?: string;
  getRemainingTimeInMillis?: () => number;
};

/** The child's entry, beside this file: `aws-worker-process.mjs` in the zip, `.js` in `dist/`. */
const CHILD_ENTRY = fileURLToPath(new URL(`./aws-worker-process${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

const runtime = new FunctionRuntime({
  entry: CHILD_ENTRY,
  runtimeName: 'The Lambda runtime',
  childLabel: 'Lambda worker process',
  memoryMb: Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE) || 1024,
  maxResponseBytes: MAX_RESPONSE_RECORD_BYTES,
  // The function's own environment: the child opens S3 from it, with the function's role.
  env: process.env,
  cwd: process.env.LAMBDA_TASK_ROOT ?? process.cwd(),
  memoryAdvice: 'Give the function more memory (the compute option memoryMb, then `fanout deploy`), or make the task use less (process its input in smaller pieces).',
});

/** Run one invocation (see `FunctionRuntime.handle`). */
export async function handler(event: unknown, _context?: LambdaContext): Promise<RuntimeResponse> {
  return runtime.handle(event);
}
