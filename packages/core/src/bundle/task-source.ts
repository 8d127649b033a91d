import { Session } from 'node:inspector';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ErrorCode, FanoutError } from '@fanout/spec';
import { parse } from 'acorn';
import { analyze } from 'periscopic';
import type { TaskFunction, TaskReference } from '../job/job-types.js';

/** Where a task's code comes from. */
export type TaskSource =
  | { kind: 'module'; file: string; exportName: string }
  | { kind: 'inline'; source: string; resolveDirectory: string };

/**
 * Find the code of a task. A function exported by a module is shipped as that module; any other
 * function must be self-contained and is shipped as its own source text.
 *
 * The module of a function value is found through V8's inspector (`[[FunctionLocation]]`), which
 * is how the user gets to pass the function itself, with its types, and nothing else.
 */
export async function resolveTaskSource(task: TaskFunction<never> | TaskReference, cwd: string): Promise<TaskSource> {
  if (typeof task !== 'function') {
    if (typeof task !== 'object' || task === null || typeof task.module !== 'string') {
      throw new TypeError('A task must be a function or a { module, exportName } reference.');
    }
    const file = task.module.startsWith('file:') ? fileURLToPath(task.module) : resolve(cwd, task.module);
    return { kind: 'module', file, exportName: task.exportName ?? 'default' };
  }
  const url = functionLocation(task);
  if (url?.startsWith('file:')) {
    const namespace = (await import(url)) as Record<string, unknown>;
    const exportName = Object.keys(namespace).find((name) => namespace[name] === task);
    if (exportName !== undefined) return { kind: 'module', file: fileURLToPath(url), exportName };
  }
  const source = Function.prototype.toString.call(task);
  if (/\{\s*\[native code\]\s*\}$/.test(source)) {
    throw new TypeError(`Task ${task.name || '(anonymous)'} is a native or bound function; pass the exported function itself.`);
  }
  assertSelfContained(source, task.name);
  return { kind: 'inline', source, resolveDirectory: url?.startsWith('file:') ? resolve(fileURLToPath(url), '..') : cwd };
}

let scriptUrls: Map<string, string> | undefined;

function functionLocation(task: (...args: never[]) => unknown): string | undefined {
  const session = new Session();
  session.connect();
  try {
    // The inspector answers in-process sessions synchronously, inside `post`.
    const holder = Symbol.for('fanout.locate');
    (globalThis as Record<symbol, unknown>)[holder] = task;
    let scriptId: string | undefined;
    session.post('Runtime.evaluate', { expression: `globalThis[Symbol.for('fanout.locate')]` }, (_error, evaluated) => {
      const objectId = evaluated?.result.objectId;
      if (!objectId) return;
      session.post('Runtime.getProperties', { objectId, ownProperties: true }, (_innerError, properties) => {
        const location = properties?.internalProperties?.find((property) => property.name === '[[FunctionLocation]]');
        scriptId = (location?.value?.value as { scriptId?: string } | undefined)?.scriptId;
      });
    });
    delete (globalThis as Record<symbol, unknown>)[holder];
    if (scriptId === undefined) return undefined;
    // Script ids are stable for the life of the process. Enabling the debugger replays every
    // loaded script, which costs milliseconds, so do it only for a script not seen before.
    const urls = (scriptUrls ??= new Map());
    if (!urls.has(scriptId)) {
      session.on('Debugger.scriptParsed', (message) => urls.set(message.params.scriptId, message.params.url));
      session.post('Debugger.enable');
      session.post('Debugger.disable');
    }
    const url = urls.get(scriptId);
    return url && !url.startsWith('file:') && isAbsolute(url) ? pathToFileURL(url).href : url;
  } finally {
    session.disconnect();
  }
}

/** Refuse a function that refers to anything but its parameters, its own locals and globals. */
function assertSelfContained(source: string, name: string): void {
  let program;
  try {
    program = parse(`(${source})`, { ecmaVersion: 'latest', sourceType: 'module' });
  } catch {
    throw new FanoutError(
      `Task ${name || '(anonymous)'} cannot be shipped as source (${source.slice(0, 60)}...). Export it from a module and pass the exported function.`,
      { code: ErrorCode.TASK_NOT_SELF_CONTAINED, fault: 'caller' },
    );
  }
  const { globals } = analyze(program as Parameters<typeof analyze>[0]);
  const captured = [...globals.keys()].filter((identifier) => !(identifier in globalThis) && identifier !== 'arguments');
  if (captured.length) {
    throw new FanoutError(
      `Inline task ${name || '(anonymous)'} uses ${captured.map((identifier) => `"${identifier}"`).join(', ')} from outside the function, which a remote worker does not have. Pass the value as part of each input, or move the function into a module and export it.`,
      { code: ErrorCode.TASK_NOT_SELF_CONTAINED, fault: 'caller' },
    );
  }
}
