import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The Cloud Storage fake running in a child process (see `gcs-server-process.ts`). */
export type GcsProcess = { url: string; stop(): Promise<void> };

/** Start the fake in its own process, with `buckets` existing, and wait for its address. */
export async function startGcsProcess(buckets: readonly string[]): Promise<GcsProcess> {
  const child = fork(fileURLToPath(new URL('./gcs-server-process.ts', import.meta.url)), [], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, FAKE_GCS_BUCKETS: buckets.join(',') },
  });
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const line = text.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`The Cloud Storage fake exited with code ${code} before it listened.`)));
    child.once('error', reject);
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
