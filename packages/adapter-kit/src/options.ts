import { ErrorCode, FanoutError, type PluginContextV1 } from '@fanout/spec';

/**
 * Validating a plugin's options, so that every adapter refuses bad configuration in the same
 * words: a `CONFIG_INVALID` whose message starts with the key's full path
 * (`${context.configPath}.<key>`), says what is wrong and how to fix it.
 */

/** Where the options sit in the configuration; core passes it in every plugin context. */
export type OptionsContext = Pick<PluginContextV1, 'configPath'>;

/** A `CONFIG_INVALID` naming `${configPath}.${key}`, followed by `problem`. */
export function optionError(context: OptionsContext, key: string, problem: string): FanoutError {
  return new FanoutError(`${context.configPath}.${key} ${problem}`, { code: ErrorCode.CONFIG_INVALID, fault: 'caller' });
}

/** A value as an error message shows it: strings quoted, numbers as they are, anything else by kind. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value}`;
}

/** True for an integer in `[minimum, maximum]`. */
export function isIntegerBetween(value: unknown, minimum: number, maximum: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= minimum && value <= maximum;
}

export type OptionsShape = {
  /** The adapter's name, as the unknown-key message says it ("… is not an option of the local adapter"). */
  adapter: string;
  /** Every key the options may have. */
  known: readonly string[];
  /** An example of valid options, shown when they are not an object, such as `{ url: "redis://…" }`. */
  example: string;
};

/**
 * The options as a record, refusing anything but an object and any key not in `shape.known`.
 * `undefined` and `null` (a config file's way of saying "no options") are an empty record.
 */
export function optionsRecord(options: unknown, context: OptionsContext, shape: OptionsShape): Record<string, unknown> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new FanoutError(`${context.configPath} must be an object such as ${shape.example}, got ${describeValue(options)}.`, {
      code: ErrorCode.CONFIG_INVALID,
      fault: 'caller',
    });
  }
  const record = options as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!shape.known.includes(key)) {
      throw optionError(context, key, `is not an option of the ${shape.adapter} adapter. Known options: ${shape.known.join(', ')}. Check the spelling or remove it.`);
    }
  }
  return record;
}

/**
 * The `prefix` option of a bucket store: a relative key prefix inside the bucket, so that one
 * bucket can hold other data or several teams' jobs. Returned with a `/` appended when missing,
 * or empty for the whole bucket; `CONFIG_INVALID` naming `${configPath}.prefix` otherwise.
 */
export function parseKeyPrefixOption(value: unknown, context: OptionsContext): string {
  const prefix = value ?? '';
  if (typeof prefix !== 'string' || !isKeyPrefix(prefix)) {
    throw optionError(
      context,
      'prefix',
      `must be a relative key prefix such as "team-a" or "data/fanout" (no leading "/", no empty, "." or ".." segments), got ${describeValue(prefix)}. Leave it out to use the whole bucket.`,
    );
  }
  return prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
}

function isKeyPrefix(prefix: string): boolean {
  if (prefix === '') return true;
  // eslint-disable-next-line no-control-regex
  if (prefix.startsWith('/') || /[\u0000-\u001f\u007f\\]/.test(prefix)) return false;
  const segments = prefix.split('/');
  if (segments.at(-1) === '') segments.pop();
  return segments.every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** Whether `value` is an absolute http or https URL: what an `endpoint` option must be. */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
