import { FanoutError } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { rebuildWorkerError } from '@fanout/worker';
import { mapFileSystemError, transportError } from './local-errors.js';

const systemError = (code: string) => Object.assign(new Error(`${code}: failed`), { code });

describe('file-system error mapping', () => {
  it('maps permission problems to ACCESS_DENIED, not retryable', () => {
    for (const code of ['EACCES', 'EPERM', 'EROFS']) {
      const error = mapFileSystemError(systemError(code), { operation: 'write', key: 'k' });
      expect(error.code).toBe('ACCESS_DENIED');
      expect(error.retryable).toBe(false);
    }
  });

  it('maps a full disk to a BACKEND_UNAVAILABLE that says how to free space, not retryable', () => {
    for (const code of ['ENOSPC', 'EDQUOT']) {
      const error = mapFileSystemError(systemError(code), { operation: 'write', key: 'fanout/jobs/j1' });
      expect(error).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryable: false });
      expect(error.message).toContain('"fanout/jobs/j1"');
      expect(error.message).toContain('fanout clean');
    }
  });

  it('maps other failures to BACKEND_UNAVAILABLE, retryable, keeping the cause', () => {
    const cause = systemError('EMFILE');
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

describe('worker failures across the channel', () => {
  it('classifies a bare file-system error from writing the code bundle before it travels', () => {
    const full = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    expect(rebuildWorkerError(transportError(full))).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryable: false });
    const busy = Object.assign(new Error('too many open files'), { code: 'EMFILE' });
    expect(rebuildWorkerError(transportError(busy))).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryable: true });
  });
});

