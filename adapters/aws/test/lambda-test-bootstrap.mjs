// One execution environment of the Lambda test server: like Lambda's Node.js runtime, it imports
// the handler module from LAMBDA_TASK_ROOT once (the cold start), then runs one invocation at a
// time for as long as the server keeps it, reporting results and errors the way the runtime
// reports them to Lambda. Plain JavaScript, so that it runs under node with no loader.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';

const [moduleName, exportName] = (process.env._HANDLER ?? 'index.handler').split('.');
const root = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
let current;

function errorBody(error) {
  if (error instanceof Error) {
    return { errorType: error.name, errorMessage: error.message, trace: (error.stack ?? '').split('\n') };
  }
  return { errorType: 'Error', errorMessage: String(error), trace: [] };
}

function maxMemoryUsedMb() {
  return Math.ceil(process.resourceUsage().maxRSS / 1024);
}

function reply(message) {
  process.send?.({ ...message, maxMemoryUsedMb: maxMemoryUsedMb() });
}

// What the runtime does with an error that escaped the handler's promise: report it for the
// running invocation, then end the process, whose environment Lambda then replaces.
process.on('uncaughtException', (error) => {
  if (current !== undefined) reply({ type: 'result', id: current, ok: false, fatal: true, error: errorBody(error) });
  process.exit(129);
});
process.on('unhandledRejection', (reason) => {
  if (current !== undefined) {
    const message = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
    reply({
      type: 'result',
      id: current,
      ok: false,
      fatal: true,
      error: { errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: message, trace: reason instanceof Error ? (reason.stack ?? '').split('\n') : [] },
    });
  }
  process.exit(128);
});
process.on('disconnect', () => process.exit(0));

let handlerPromise;
function loadHandler() {
  handlerPromise ??= (async () => {
    const candidates = ['.mjs', '.js', '.cjs'].map((extension) => join(root, `${moduleName}${extension}`));
    const file = candidates.find((candidate) => existsSync(candidate));
    if (!file) {
      throw Object.assign(new Error(`Cannot find module '${moduleName}'`), { name: 'Runtime.ImportModuleError' });
    }
    let module;
    try {
      module = await import(pathToFileURL(file).href);
    } catch (error) {
      throw Object.assign(new Error(`${error?.name ?? 'Error'}: ${error?.message ?? error}`), { name: 'Runtime.ImportModuleError' });
    }
    const handler = module[exportName];
    if (typeof handler !== 'function') {
      throw Object.assign(new Error(`${moduleName}.${exportName} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
    }
    return handler;
  })();
  return handlerPromise;
}

process.on('message', async (message) => {
  if (message?.type !== 'invoke') return;
  current = message.id;
  const context = {
    awsRequestId: message.requestId,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    getRemainingTimeInMillis: () => Math.max(0, message.deadlineMs - Date.now()),
    callbackWaitsForEmptyEventLoop: true,
  };
  try {
    const handler = await loadHandler();
    const result = await handler(JSON.parse(message.event), context);
    // Lambda serializes the handler's value as JSON; undefined becomes null.
    reply({ type: 'result', id: message.id, ok: true, body: JSON.stringify(result ?? null) });
  } catch (error) {
    reply({ type: 'result', id: message.id, ok: false, error: errorBody(error) });
  } finally {
    current = undefined;
  }
});

process.send?.({ type: 'ready' });
