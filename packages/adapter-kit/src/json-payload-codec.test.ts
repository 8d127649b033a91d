import { PROTOCOL_VERSION, type InvocationPayloadV1 } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { decodeJsonPayload, encodeJsonPayload, fromJsonValue, jsonPayloadSize, toJsonValue } from './json-payload-codec.js';

const payload = (inputs: InvocationPayloadV1['inputs']): InvocationPayloadV1 => ({
  protocol: PROTOCOL_VERSION,
  jobId: '20261129-030000-abcd1234',
  attempt: 2,
  code: { key: 'fanout/code/abc.mjs', sha256: 'a'.repeat(64), exportName: 'default' },
  tasks: { first: 10, count: 2 },
  inputs,
  resultKey: 'fanout/results/20261129-030000-abcd1234/0000000010-000002',
  respond: true,
  timeoutMs: 60_000,
});

describe('the JSON payload codec', () => {
  it('round-trips a payload through JSON, inline bytes included', () => {
    for (const bytes of [new Uint8Array([0, 1, 2, 250, 255]), Buffer.from('buffer bytes'), new Uint8Array(0), new Uint8Array(new ArrayBuffer(16), 4, 7).fill(9)]) {
      const original = payload({ inline: bytes });
      const decoded = decodeJsonPayload(JSON.parse(Buffer.from(encodeJsonPayload(original)).toString('utf8')));
      expect(decoded).toEqual({ ...original, inputs: { inline: new Uint8Array(bytes) } });
      expect((decoded.inputs as { inline: Uint8Array }).inline).toBeInstanceOf(Uint8Array);
    }
    const ranged = payload({ key: 'fanout/jobs/x', start: 5, end: 99 });
    expect(decodeJsonPayload(JSON.parse(Buffer.from(encodeJsonPayload(ranged)).toString()))).toEqual(ranged);
  });

  it('measures the exact encoded size without encoding, for every remainder of base64 padding', () => {
    for (let length = 0; length < 40; length += 1) {
      for (const bytes of [new Uint8Array(length).fill(200), Buffer.alloc(length, 1)]) {
        const original = payload({ inline: bytes });
        expect(jsonPayloadSize(original)).toBe(encodeJsonPayload(original).byteLength);
      }
    }
    const unicode = { ...payload({ inline: new Uint8Array(3) }), jobId: 'jöb-✓' };
    expect(jsonPayloadSize(unicode)).toBe(encodeJsonPayload(unicode).byteLength);
  });

  it('encodes bytes anywhere, and only marker objects decode back to bytes', () => {
    const value = { list: [new Uint8Array([1]), { nested: Buffer.from([2]) }], text: '$base64', other: { $base64: 'AQ==', extra: 1 } };
    const decoded = fromJsonValue(JSON.parse(JSON.stringify(toJsonValue(value)))) as typeof value;
    expect(decoded.list[0]).toEqual(new Uint8Array([1]));
    expect((decoded.list[1] as { nested: Uint8Array }).nested).toEqual(new Uint8Array([2]));
    expect(decoded.other).toEqual({ $base64: 'AQ==', extra: 1 });
  });

  it('refuses an event that is not an object with PROTOCOL_ERROR', () => {
    for (const event of [null, 'text', 5, [1]]) {
      expect(() => decodeJsonPayload(event)).toThrowError(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
    }
  });
});
