import { ErrorCode, FanoutError } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { parseGcpStorageOptions } from './gcp-options.js';

const context = { configPath: 'profiles.prod.storage.options' };

function configError(options: unknown): FanoutError {
  try {
    parseGcpStorageOptions(options, context);
  } catch (error) {
    expect(FanoutError.isInstance(error, ErrorCode.CONFIG_INVALID)).toBe(true);
    return error as FanoutError;
  }
  throw new Error('accepted');
}

describe('Cloud Storage options', () => {
  it('apply defaults and normalise the prefix and endpoint', () => {
    expect(parseGcpStorageOptions({ bucket: 'team-fanout', prefix: 'team-a', endpoint: 'http://127.0.0.1:4443/' }, context)).toEqual({
      bucket: 'team-fanout',
      prefix: 'team-a/',
      projectId: undefined,
      endpoint: 'http://127.0.0.1:4443',
      connectTimeoutMs: 10_000,
      responseTimeoutMs: 30_000,
    });
  });

  it('name the offending option and say how to fix it', () => {
    expect(configError({}).message).toMatch(/^profiles\.prod\.storage\.options\.bucket is required: name the Cloud Storage bucket/);
    for (const bucket of ['ab', 'Team', 'goog-data', '-x-', '192.168.0.1', 'a'.repeat(64)]) {
      expect(configError({ bucket }).message, bucket).toMatch(/\.bucket must be a Cloud Storage bucket name/);
    }
    expect(configError({ bucket: 'team-fanout', prefix: '../x' }).message).toMatch(/\.prefix must be a relative key prefix/);
    expect(configError({ bucket: 'team-fanout', projectId: 'X' }).message).toMatch(/\.projectId must be a Google Cloud project ID/);
    expect(configError({ bucket: 'team-fanout', endpoint: 'ftp://x' }).message).toMatch(/\.endpoint must be an http\(s\) URL/);
    expect(configError({ bucket: 'team-fanout', responseTimeoutMs: 0 }).message).toMatch(/\.responseTimeoutMs must be a whole number of milliseconds/);
    expect(configError({ bucket: 'team-fanout', region: 'eu' }).message).toMatch(/\.region is not an option of the gcp adapter\. Known options: bucket, prefix, projectId, endpoint/);
  });

  it('accept dotted bucket names, whose parts are each up to 63 characters', () => {
    expect(parseGcpStorageOptions({ bucket: `data.${'a'.repeat(63)}.example.com` }, context).bucket).toContain('example.com');
  });
});
