/**
 * Listing keys by prefix from the sorted set that indexes every object. All members have score
 * 0, so Redis orders them by their bytes (memcmp), which for UTF-8 keys is exactly the order the
 * storage contract asks for, and `ZRANGE ... BYLEX` returns a prefix's keys in that order.
 */

/** Most keys one `list` page returns, the same as S3 and GCS so that callers see one page size. */
export const LIST_PAGE_SIZE = 1000;

/**
 * One page in one round trip, from one consistent snapshot: the index members in range, each
 * with its size and modification time. An index member whose object is gone (only possible if
 * something outside this adapter deleted it) is skipped rather than listed with a wrong size.
 *
 * KEYS[1] index, KEYS[2] modification-time hash. ARGV[1] lower bound, ARGV[2] upper bound (ZRANGE
 * BYLEX syntax), ARGV[3] page size, ARGV[4] the Redis key prefix of objects.
 *
 * Reply: `{ cursor or "", key, size, modifiedMs or "", key, size, ... }`. Keys are never empty,
 * so `""` safely means "no more pages". Up to `limit + 1` members are read so that the last page
 * is known to be last without an extra, empty request.
 */
export const LIST_PAGE_SCRIPT = `
local limit = tonumber(ARGV[3])
local members = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'BYLEX', 'LIMIT', 0, limit + 1)
local reply = { '' }
local found = 0
for index, member in ipairs(members) do
  if found == limit then
    reply[1] = members[index - 1]
    break
  end
  local objectKey = ARGV[4] .. member
  if redis.call('EXISTS', objectKey) == 1 then
    found = found + 1
    reply[#reply + 1] = member
    reply[#reply + 1] = redis.call('STRLEN', objectKey)
    reply[#reply + 1] = redis.call('HGET', KEYS[2], member) or ''
  end
end
if reply[1] == '' and #members > limit then
  reply[1] = members[#members]
end
return reply
`;

/** The byte that never occurs in UTF-8, so `prefix + 0xFF` sorts after every key starting with `prefix`. */
const AFTER_EVERY_UTF8_CONTINUATION = Buffer.from([0xff]);

/**
 * The ZRANGE BYLEX bounds for the keys starting with `prefix` that sort after `after` (the
 * previous page's last key). Buffers, because the upper bound is not valid UTF-8 and must reach
 * Redis byte for byte.
 */
export function listBounds(prefix: string, after: string | undefined): { lower: Buffer; upper: Buffer } {
  const lower =
    after !== undefined ? Buffer.from(`(${after}`, 'utf8') : prefix === '' ? Buffer.from('-') : Buffer.from(`[${prefix}`, 'utf8');
  // 0xFF never occurs in UTF-8, so prefix + 0xFF sorts after every key that starts with prefix.
  const upper = prefix === '' ? Buffer.from('+') : Buffer.concat([Buffer.from(`(${prefix}`, 'utf8'), AFTER_EVERY_UTF8_CONTINUATION]);
  return { lower, upper };
}

/** One listed object, as the script replies. */
export type ListedObject = { key: string; size: number; modifiedMs?: number };

/** Decode the script's flat reply into a cursor and objects. */
export function parseListReply(reply: unknown): { cursorKey: string | undefined; objects: ListedObject[] } {
  if (!Array.isArray(reply) || reply.length % 3 !== 1) {
    throw new TypeError('The Redis list script returned an unexpected reply.');
  }
  const objects: ListedObject[] = [];
  for (let index = 1; index < reply.length; index += 3) {
    const modified = Number(reply[index + 2]);
    objects.push({
      key: String(reply[index]),
      size: Number(reply[index + 1]),
      ...(reply[index + 2] === '' || !Number.isFinite(modified) ? {} : { modifiedMs: modified }),
    });
  }
  const cursorKey = reply[0] === '' ? undefined : String(reply[0]);
  return { cursorKey, objects };
}
