/**
 * The child process of each Lambda execution environment (started by the handler in
 * `aws-runtime.ts`): one generic `Worker` over the bucket the function's environment names, for
 * as long as the environment and the child live.
 */
import { serveWorkerProcess, transportWorkerError, Worker } from '@fanout/worker';
import { CODE_DIRECTORY, storageFromEnvironment } from './aws-runtime-environment.js';

serveWorkerProcess({
  open: () => {
    const storage = storageFromEnvironment(process.env);
    return { worker: new Worker({ storage, codeDirectory: CODE_DIRECTORY }), storage };
  },
  transportError: (error) => transportWorkerError(error, 'The Lambda worker'),
});
