/**
 * Where the first JSON syntax error in `text` is, or `undefined` if `text` is valid JSON.
 *
 * `JSON.parse` in Node 20 often reports no position at all ("Unexpected token '}', ... is not
 * valid JSON"), and a user with a 10,000-line inputs file needs a line number. This scanner only
 * runs after `JSON.parse` has failed, so it favours being short over being fast.
 */
export function locateJsonError(text: string): number | undefined {
  let offset = 0;
  const numberPattern = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

  const skipWhitespace = (): void => {
    while (offset < text.length && ' \t\r\n'.includes(text[offset]!)) offset++;
  };

  const scanString = (): boolean => {
    offset++;
    while (offset < text.length) {
      const character = text[offset]!;
      if (character === '"') {
        offset++;
        return true;
      }
      if (character < ' ') return false;
      if (character === '\\') {
        const escaped = text[offset + 1];
        if (escaped === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(offset + 2, offset + 6))) return false;
          offset += 6;
          continue;
        }
        if (escaped === undefined || !'"\\/bfnrt'.includes(escaped)) return false;
        offset += 2;
        continue;
      }
      offset++;
    }
    return false;
  };

  const scanNumber = (): boolean => {
    numberPattern.lastIndex = offset;
    const match = numberPattern.exec(text);
    if (!match) return false;
    offset += match[0].length;
    return true;
  };

  const scanSequence = (close: string, scanMember: () => boolean): boolean => {
    offset++;
    skipWhitespace();
    if (text[offset] === close) {
      offset++;
      return true;
    }
    for (;;) {
      if (!scanMember()) return false;
      skipWhitespace();
      if (text[offset] === ',') {
        offset++;
        continue;
      }
      if (text[offset] !== close) return false;
      offset++;
      return true;
    }
  };

  const scanMember = (): boolean => {
    skipWhitespace();
    if (text[offset] !== '"' || !scanString()) return false;
    skipWhitespace();
    if (text[offset] !== ':') return false;
    offset++;
    return scanValue();
  };

  const scanValue = (): boolean => {
    skipWhitespace();
    const character = text[offset];
    if (character === '{') return scanSequence('}', scanMember);
    if (character === '[') return scanSequence(']', scanValue);
    if (character === '"') return scanString();
    if (character === '-' || (character !== undefined && character >= '0' && character <= '9')) return scanNumber();
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, offset)) {
        offset += literal.length;
        return true;
      }
    }
    return false;
  };

  if (!scanValue()) return offset;
  skipWhitespace();
  return offset < text.length ? offset : undefined;
}

/**
 * Where and what the first syntax error in `text` is, for a text `JSON.parse` refused with
 * `error`: "line 3, column 7: unexpected '}'". `firstLine` is the number of the text's first
 * line, for one line of a longer file. Falls back to `JSON.parse`'s own message (after the line
 * number, when one was given) should the scanner find nothing wrong.
 */
export function describeJsonSyntaxError(text: string, error: unknown, firstLine?: number): string {
  const offset = locateJsonError(text);
  if (offset !== undefined) return describeJsonError(text, offset, firstLine);
  const message = error instanceof Error ? error.message : String(error);
  return firstLine === undefined ? message : `line ${firstLine}: ${message}`;
}

/** A human description of the JSON error at `offset`: "line 3, column 7: unexpected '}'". */
function describeJsonError(text: string, offset: number, firstLine = 1): string {
  const before = text.slice(0, offset);
  const line = firstLine + (before.match(/\n/g)?.length ?? 0);
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  const found = offset >= text.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(text[offset])}`;
  return `line ${line}, column ${column}: ${found}`;
}
