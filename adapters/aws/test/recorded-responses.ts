/**
 * Replays recorded AWS responses through a real SDK client: a middleware at the front of the
 * client's stack answers each command by name, so commands, waiters and error classes are the
 * SDK's own while no request leaves the process. Every call is recorded for assertions.
 */

// The SDK warns on Node 20 about its future Node 22 requirement; tests need not repeat it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export type RecordedCall = { command: string; input: Record<string, unknown> };

/** Answers one command: return its output (without `$metadata`), or throw its error. */
export type Responder = (command: string, input: Record<string, unknown>) => unknown;

type ClientWithStack = {
  middlewareStack: {
    add(
      middleware: (next: unknown, context: { commandName?: string }) => (args: { input: Record<string, unknown> }) => Promise<unknown>,
      options: { step: 'initialize'; name: string; priority: 'high' },
    ): void;
  };
};

/** Answer the client's commands with `responder`, recording each call into `calls` (returned). */
export function replay(client: ClientWithStack, responder: Responder, calls: RecordedCall[] = []): RecordedCall[] {
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      const command = context.commandName ?? 'UnknownCommand';
      calls.push({ command, input: args.input });
      const output = (await responder(command, args.input)) as Record<string, unknown> | undefined;
      return { output: { $metadata: { httpStatusCode: 200, requestId: 'recorded' }, ...(output ?? {}) }, response: {} };
    },
    { step: 'initialize', name: 'recordedResponses', priority: 'high' },
  );
  return calls;
}

/** An SDK-shaped service error, as the SDK builds it from an error response. */
export function serviceError(name: string, status: number, message = name, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'recorded' },
    ...fields,
  });
}
