/**
 * Starts a throwaway redis-server for a test file: bound to 127.0.0.1 on a free port, nothing
 * persisted (`--save ''`, no append-only file), stopped by its PID.
 *
 * A missing `redis-server` is a failure, not a skip: CI installs it, and a silently skipped
 * storage suite would certify nothing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, Socket } from 'node:net';

/** A running server. */
export type RedisServer = {
  url: string;
  port: number;
  pid: number;
  /** Stop it (SIGTERM, then SIGKILL after a second) and wait for the process to exit. */
  stop(): Promise<void>;
};

export type RedisServerOptions = {
  /** Require this password (`--requirepass`). */
  password?: string;
  /** Use this port instead of a free one (to restart a stopped server at the same address). */
  port?: number;
};

const STARTUP_TIMEOUT_MS = 10_000;

export const REDIS_SERVER_MISSING_MESSAGE =
  'redis-server is not installed, so the Redis adapter cannot be tested. Install it with `apt-get update && apt-get install -y redis-server` (Debian/Ubuntu; CI does this in .ci/run) and run the tests again.';

/** Throw a clear error unless the `redis-server` binary can be run. */
export function assertRedisServerInstalled(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Error(REDIS_SERVER_MISSING_MESSAGE);
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  assertRedisServerInstalled();
  const port = options.port ?? (await freePort());
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'];
  if (options.password !== undefined) args.push('--requirepass', options.password);
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  try {
    await waitUntilListening(child, port, () => output);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  return { url: `redis://${auth}127.0.0.1:${port}`, port, pid: child.pid!, stop: () => stopProcess(child) };
}

async function waitUntilListening(child: ChildProcess, port: number, output: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited during startup (code ${String(child.exitCode)}):\n${output()}`);
    }
    if (output().includes('Ready to accept connections') && (await canConnect(port))) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`redis-server did not accept connections on port ${port} within ${STARTUP_TIMEOUT_MS} ms:\n${output()}`);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const forceKill = setTimeout(() => child.kill('SIGKILL'), 1000);
  await exited;
  clearTimeout(forceKill);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

/** A port that was free a moment ago. Another process may take it first; startup then fails loudly. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('Could not find a free port.');
  return address.port;
}
