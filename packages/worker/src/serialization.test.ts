import { describe, expect, it } from 'vitest';
import { deserializeValue, serializeValue, serializeValueToParts } from './serialization.js';

const large = new Uint8Array(64 * 1024).map((_, index) => index % 251);

describe('serializeValueToParts', () => {
  it('references the bytes of a large view instead of copying them, and the parts joined are its serialization', () => {
    const parts = serializeValueToParts(large);
    expect(parts.some((part) => part.buffer === large.buffer)).toBe(true);
    expect(Buffer.concat(parts).equals(serializeValue(large))).toBe(true);
  });

  it('round-trips values that mix large views of every kind with other data', () => {
    const value = {
      bytes: large,
      text: 'two-byte text: ☃ – so the format pads for alignment',
      views: [new Uint16Array(large.buffer, 2, 10_000), Buffer.from(large), new DataView(large.buffer, 1, 20_000), new Uint8Array(3)],
      map: new Map([['again', large]]),
      when: new Date(0),
    };
    const decoded = deserializeValue(Buffer.concat(serializeValueToParts(value)));
    expect(decoded).toEqual(deserializeValue(serializeValue(value)));
  });

  it('copies small views, so a value without large ones is one part', () => {
    expect(serializeValueToParts({ small: new Uint8Array(16), n: 1 })).toHaveLength(1);
  });
});
