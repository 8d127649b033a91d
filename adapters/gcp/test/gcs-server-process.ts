// The Cloud Storage fake in a process of its own, on 127.0.0.1 and a free port, which it prints
// as JSON on stdout. Used where the test process's memory must not include the fake's stored
// objects (the conformance suite measures the client's memory while streaming 64 MiB).
import { FakeGcsServer } from './gcs-json-api-server.js';

const buckets = (process.env.FAKE_GCS_BUCKETS ?? '').split(',').filter((name) => name !== '');
const server = await FakeGcsServer.start({ buckets });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.on('disconnect', () => void server.stop().then(() => process.exit(0)));
process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
