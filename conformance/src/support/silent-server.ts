/**
 * Servers that fail to answer, for tests of request deadlines, with real sockets on 127.0.0.1
 * (ports chosen by the system):
 *
 * - {@link startSilentServer}: accepts connections and then answers nothing (`silent`), or
 *   answers a request's headers and part of its body and then nothing (`stalled-body`). It can
 *   stall only the first connections and pass the others through to a real server, to test that
 *   a client recovers.
 * - {@link startUnacceptingServer}: a port whose connections never open.
 *
 * Nothing here knows a protocol beyond HTTP/1.1's framing, so every adapter's deadline tests use it
 * (`@fanout/conformance` exports it): a request to a stalled endpoint must end in its timeout.
 */
import { spawn } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export type SilentServerOptions = {
  /**
   * What a stalled connection gets: nothing at all (`silent`), or, once a request's headers have
   * arrived, a `200` with a `Content-Length` of 1 MiB and the first 16 bytes of it (`stalled-body`).
   * Default: `silent`.
   */
  stall?: 'silent' | 'stalled-body';
  /** Stall only the first this many connections, and pass the later ones through to `upstream`. Default: every connection stalls. */
  stallFirst?: number;
  /** `http://host:port` of the server that connections past `stallFirst` are passed through to. */
  upstream?: string;
};

export type SilentServer = {
  /** `http://127.0.0.1:<port>`, for a client's endpoint option. */
  endpoint: string;
  /** `127.0.0.1:<port>`, as error messages name it. */
  address: string;
  /** Connections accepted so far, stalled or passed through. */
  readonly connections: number;
  /** The first line of each request that reached a stalled connection, such as `GET /bucket/key?x-id=GetObject HTTP/1.1`. */
  readonly requests: readonly string[];
  /** Close every connection and the server. */
  close(): Promise<void>;
};

/** The body length a `stalled-body` answer announces, and how much of it is sent. */
const STALLED_BODY_BYTES = 1024 * 1024;
const STALLED_BODY_SENT_BYTES = 16;

export async function startSilentServer(options: SilentServerOptions = {}): Promise<SilentServer> {
  const stall = options.stall ?? 'silent';
  const stallFirst = options.stallFirst ?? Number.POSITIVE_INFINITY;
  const upstream = options.upstream === undefined ? undefined : new URL(options.upstream);
  if (Number.isFinite(stallFirst) && upstream === undefined) {
    throw new TypeError('startSilentServer needs options.upstream to pass connections past stallFirst to.');
  }
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  let connections = 0;

  const server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (connections > stallFirst && upstream) {
      const through = connect(Number(upstream.port), upstream.hostname);
      sockets.add(through);
      through.on('close', () => sockets.delete(through));
      through.on('error', () => socket.destroy());
      socket.on('close', () => through.destroy());
      through.on('close', () => socket.destroy());
      socket.pipe(through).pipe(socket);
      return;
    }
    // Read what the client sends, so that its writes never block, and answer as configured.
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      if (head.includes('\r\n\r\n')) return;
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      requests.push(head.slice(0, head.indexOf('\r\n')));
      if (stall === 'stalled-body') {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${STALLED_BODY_BYTES}\r\n\r\n`);
        socket.write(Buffer.alloc(STALLED_BODY_SENT_BYTES, 0x61));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    requests,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type UnacceptingServer = {
  /** `http://127.0.0.1:<port>`, for a client's endpoint option. */
  endpoint: string;
  /** `127.0.0.1:<port>`, as error messages name it. */
  address: string;
  /** Stop the process that holds the port. */
  close(): Promise<void>;
};

/**
 * A port on which connections never open: a process listens on it with a backlog of one and
 * never accepts (its only thread is blocked, for ten minutes at most), and this function fills
 * the backlog, so the kernel drops every later SYN and a client's connect waits until its own
 * timeout. (A port nobody listens on refuses at once, which tests something else.)
 */
/** How long the unaccepting process lives at most, should the test process die without closing it. */
const UNACCEPTING_LIFETIME_MS = 10 * 60_000;

export async function startUnacceptingServer(): Promise<UnacceptingServer> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const server = require('node:net').createServer();
server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  require('node:fs').writeSync(1, server.address().port + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${UNACCEPTING_LIFETIME_MS});
  process.exit(0);
});`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(Number(text.trim()));
    });
    child.once('exit', (code) => reject(new Error(`the unaccepting server exited with code ${code} before listening`)));
  });
  const fillers: Socket[] = [];
  const close = async () => {
    for (const socket of fillers) socket.destroy();
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  };
  // Fill the accept queue: connections open until it is full, and the first that does not is the sign.
  for (let opened = true; opened; ) {
    if (fillers.length >= 64) {
      await close();
      throw new Error('the unaccepting server kept accepting connections: its backlog never filled');
    }
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    fillers.push(socket);
    opened = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 300);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
  return { endpoint: `http://127.0.0.1:${port}`, address: `127.0.0.1:${port}`, close };
}
