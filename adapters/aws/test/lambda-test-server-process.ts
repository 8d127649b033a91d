/**
 * The Lambda test server in a process of its own, for benchmarks: the client under measurement
 * then has its process (and a core) to itself. Started with `node --import tsx`; the options
 * arrive as JSON in the first argument, and the endpoint is printed as one JSON line.
 */
import { startLambdaTestServer, type LambdaTestServerOptions } from './lambda-test-server.js';

const options = JSON.parse(process.argv[2] ?? '{}') as LambdaTestServerOptions;
const server = await startLambdaTestServer(options);
process.stdout.write(`${JSON.stringify({ endpoint: server.endpoint })}\n`);
const stop = () => void server.stop().then(() => process.exit(0));
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('message', (message: unknown) => {
  if (message === 'stats') process.send?.({ stats: server.stats });
});
