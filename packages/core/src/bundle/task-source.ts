import { existsSync } from 'node:fs';
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
    // Checked here: esbuild would report a missing entry point as a package to install.
    if (!existsSync(file)) {
      throw new FanoutError(
        `Task module ${JSON.stringify(task.module)} does not exist: looked for ${file} (a relative path resolves against ${cwd}, the configuration file's folder or else the working directory). Fix the path, or pass an absolute path or a file: URL.`,
        { code: ErrorCode.BUNDLE_FAILED, fault: 'caller' },
      );
    }
    return { kind: 'module', file, exportName: task.exportName ?? 'default' };
  }
  const url = functionLocation(task);
  if (url?.startsWith('file:')) {
    const exportName = await exportNameOf(task, url);
    if (exportName !== undefined) return { kind: 'module', file: fileURLToPath(url), exportName };
  }
  const source = inlineSource(task);
  assertSelfContained(source, task.name);
  return { kind: 'inline', source, resolveDirectory: url?.startsWith('file:') ? resolve(fileURLToPath(url), '..') : cwd };
}

/** How long to wait for a module that has not finished evaluating, when its task cannot travel without it. */
const EVALUATING_PATIENCE_MS = 2000;

/** Imports of the modules tasks were defined in, by URL: a later look sees one that has settled since. */
const moduleImports = new Map<string, Promise<Record<string, unknown>>>();

/**
 * The name under which the module at `url` (where `task` was defined) exports it, if it does.
 *
 * A module still evaluating is not imported: one whose top-level await waits, directly or not,
 * on this very `map()` never finishes importing, and awaiting it would deadlock; with nothing
 * else keeping the event loop alive, Node would then exit 13 with no promise settled. A
 * self-contained function travels as its own source whether its module exports it or not; one
 * that uses the module's imports or variables needs the module, and is refused with why.
 */
async function exportNameOf(task: TaskFunction<never>, url: string): Promise<string | undefined> {
  let namespace = await importUnlessEvaluating(url, 0);
  if (namespace === undefined) {
    const captured = capturedVariables(inlineSource(task), task.name);
    if (captured.length === 0) return undefined;
    // It may be an export that needs its module: give a slow loader longer before refusing it.
    namespace = await importUnlessEvaluating(url, EVALUATING_PATIENCE_MS);
    if (namespace === undefined) {
      throw new FanoutError(
        `Task ${task.name || '(anonymous)'} uses ${describeIdentifiers(captured)} from outside the function, and its module ${fileURLToPath(url)} has not finished evaluating: its top-level await is waiting for this map(), so the module cannot be loaded to ship the function with it. Move the task into a module of its own and import it from there, or make it self-contained (pass what it uses in each input).`,
        { code: ErrorCode.TASK_NOT_SELF_CONTAINED, fault: 'caller' },
      );
    }
  }
  return Object.keys(namespace).find((name) => namespace[name] === task);
}

/**
 * The namespace of the module at `url`, or `undefined` if it has not finished evaluating. An
 * evaluated module's import settles as soon as the module loader answers (through loader hooks
 * such as tsx's, a round trip to their thread), so the module counts as still evaluating once
 * two imports of this module, asked for after it, have come back first, and `patienceMs` have passed.
 */
async function importUnlessEvaluating(url: string, patienceMs: number): Promise<Record<string, unknown> | undefined> {
  let imported = moduleImports.get(url);
  if (!imported) {
    imported = import(url) as Promise<Record<string, unknown>>;
    // A module that fails after being given up on must not be an unhandled rejection.
    imported.catch(() => undefined);
    moduleImports.set(url, imported);
  }
  const evaluating = Symbol('evaluating');
  let decided = false;
  let timer: NodeJS.Timeout | undefined;
  const yardstick = (async () => {
    await import(import.meta.url);
    await import(import.meta.url);
    // Referenced: while the module's import hangs, this timer is what keeps the process alive.
    if (!decided) await new Promise((resolve) => (timer = setTimeout(resolve, patienceMs)));
    return evaluating;
  })();
  try {
    const first = await Promise.race([imported, yardstick]);
    return first === evaluating ? undefined : (first as Record<string, unknown>);
  } finally {
    decided = true;
    clearTimeout(timer);
  }
}

/** A function's source text, refusing one that has none to ship (native or bound). */
function inlineSource(task: TaskFunction<never>): string {
  const source = Function.prototype.toString.call(task);
  if (/\{\s*\[native code\]\s*\}$/.test(source)) {
    throw new TypeError(`Task ${task.name || '(anonymous)'} is a native or bound function; pass the exported function itself.`);
  }
  return source;
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
  const captured = capturedVariables(source, name);
  if (captured.length) {
    throw new FanoutError(
      `Inline task ${name || '(anonymous)'} uses ${describeIdentifiers(captured)} from outside the function, which a remote worker does not have. Pass the value as part of each input, or move the function into a module and export it.`,
      { code: ErrorCode.TASK_NOT_SELF_CONTAINED, fault: 'caller' },
    );
  }
}

/** The identifiers a function's source uses from outside itself, globals aside. */
function capturedVariables(source: string, name: string): string[] {
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
  return [...globals.keys()].filter((identifier) => !(identifier in globalThis) && identifier !== 'arguments');
}

function describeIdentifiers(identifiers: readonly string[]): string {
  return identifiers.map((identifier) => `"${identifier}"`).join(', ');
}
