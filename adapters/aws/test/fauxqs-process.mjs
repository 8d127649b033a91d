// fauxqs in a process of its own, bound to 127.0.0.1 on a free port, which it prints as JSON on
// stdout. Used where the test process's memory must not include the emulator's stored objects
// (the conformance suite measures the client's memory while streaming 64 MiB).
import { buildApp } from 'fauxqs';

const app = buildApp({ logger: false, host: '127.0.0.1' });
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`);
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
