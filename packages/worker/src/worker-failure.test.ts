import { ErrorCode, FanoutError } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { rebuildWorkerError, transportWorkerError } from './worker-failure.js';

// How a failed invocation reaches the client from any runtime (IPC, a function's response).
describe('worker failures on their way back', () => {
  it('keep storage codes and their retry verdicts', () => {
    const original = new FanoutError('disk', { code: ErrorCode.BACKEND_UNAVAILABLE, retryable: true });
    expect(rebuildWorkerError(transportWorkerError(original, 'The runtime'))).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryable: true });
  });

  it('never retry protocol or integrity failures, whatever the runtime said', () => {
    for (const code of ['PROTOCOL_ERROR', 'CODE_INTEGRITY_FAILED'] as const) {
      expect(rebuildWorkerError({ code, message: 'x', retryable: true }).retryable).toBe(false);
    }
  });

  it('turn an unknown code or a plain error into WORKER_CRASHED, keeping the stack', () => {
    expect(rebuildWorkerError({ code: 'FROM_THE_FUTURE', message: 'x' }).code).toBe('WORKER_CRASHED');
    const crash = rebuildWorkerError(transportWorkerError(new TypeError('bug'), 'The Lambda runtime'), 'in Lambda function f');
    expect(crash).toMatchObject({ code: 'WORKER_CRASHED', retryable: true });
    expect(crash.message).toBe('The Lambda runtime failed: bug (in Lambda function f)');
    expect(crash.remoteStack).toContain('TypeError: bug');
  });

  it('carry the name of what a task module threw while loading', () => {
    const loadFailure = new FanoutError('The task module failed to load: x', { code: ErrorCode.USER_CODE_ERROR, fault: 'user-code', remoteName: 'SyntaxError' });
    expect(rebuildWorkerError(transportWorkerError(loadFailure, 'The runtime'))).toMatchObject({ code: 'USER_CODE_ERROR', remoteName: 'SyntaxError', retryable: false });
  });
});
