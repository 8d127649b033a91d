import { FanoutError } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { classifyChildExit, mapFileSystemError, rebuildWorkerError, transportError } from './local-errors.js';

const systemError = (code: string) => Object.assign(new Error(`${code}: failed`), { code });

describe('file-system error mapping', () => {
  it('maps permission problems to ACCESS_DENIED, not retryable', () => {
    for (const code of ['EACCES', 'EPERM', 'EROFS']) {
      const error = mapFileSystemError(systemError(code), { operation: 'write', key: 'k' });
      expect(error.code).toBe('ACCESS_DENIED');
      expect(error.retryable).toBe(false);
    }
  });

  it('maps other failures to BACKEND_UNAVAILABLE, retryable, keeping the cause', () => {
    const cause = systemError('ENOSPC');
    const error = mapFileSystemError(cause, { operation: 'write', key: 'k' });
    expect(error).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryable: true });
    expect(error.cause).toBe(cause);
  });

  it('maps an aborted operation to ABORTED', () => {
    const controller = new AbortController();
    controller.abort();
    const error = mapFileSystemError(new DOMException('aborted', 'AbortError'), { operation: 'read', key: 'k', signal: controller.signal });
    expect(error.code).toBe('ABORTED');
  });
});

describe('child exit classification', () => {
  it('recognises V8 running out of heap as OUT_OF_MEMORY, the task\'s fault', () => {
    const error = classifyChildExit({
      exitCode: null,
      signal: 'SIGABRT',
      stderrTail: 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
    });
    expect(error).toMatchObject({ code: 'OUT_OF_MEMORY', retryable: false, fault: 'user-code' });
  });

  it('reports other exits as WORKER_CRASHED with the exit code or signal and the stderr tail', () => {
    const exited = classifyChildExit({ exitCode: 3, signal: null, stderrTail: 'segfault nearby' });
    expect(exited).toMatchObject({ code: 'WORKER_CRASHED', retryable: true, logTail: 'segfault nearby' });
    expect(exited.message).toContain('code 3');
    expect(classifyChildExit({ exitCode: null, signal: 'SIGSEGV', stderrTail: '' }).message).toContain('SIGSEGV');
  });
});

describe('worker failures across the channel', () => {
  it('keeps storage codes and their retry verdicts', () => {
    const original = new FanoutError('disk', { code: 'BACKEND_UNAVAILABLE', retryable: true });
    expect(rebuildWorkerError(transportError(original))).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryable: true });
  });

  it('never retries protocol or integrity failures', () => {
    for (const code of ['PROTOCOL_ERROR', 'CODE_INTEGRITY_FAILED'] as const) {
      expect(rebuildWorkerError({ code, message: 'x', retryable: true }).retryable).toBe(false);
    }
  });

  it('turns an unknown code or a plain error into WORKER_CRASHED', () => {
    expect(rebuildWorkerError({ code: 'SOMETHING_NEW', message: 'x' }).code).toBe('WORKER_CRASHED');
    const rebuilt = rebuildWorkerError(transportError(new TypeError('bug')));
    expect(rebuilt).toMatchObject({ code: 'WORKER_CRASHED', retryable: true });
    expect(rebuilt.remoteStack).toContain('TypeError: bug');
  });
});
