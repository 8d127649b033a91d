import { describe, expect, it } from 'vitest';
import { createProgress } from './progress.js';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { stream: { write: (text: string) => chunks.push(text), isTTY, columns: 120 }, text: () => chunks.join('') };
}

describe('progress without a terminal', () => {
  it('prints a line at each tenth of the job at most twice a second, and a final line', () => {
    let now = 0;
    const { stream, text } = fakeStream(false);
    const progress = createProgress({ stream, total: 100, now: () => now });
    for (let done = 1; done <= 100; done++) {
      now += 100;
      progress.update(done, done > 50 ? 1 : 0);
    }
    progress.finish();
    const lines = text().trim().split('\n');
    expect(lines[0]).toBe('progress: 10/100 (10%), 10 tasks/s, ETA 9.0 s');
    expect(lines).toContain('progress: 60/100 (60%), 1 failed, 10 tasks/s, ETA 4.0 s');
    expect(lines.at(-1)).toBe('progress: 100/100 (100%), 1 failed, 10 tasks/s, in 10 s');
    expect(lines).toHaveLength(10);
  });

  it('prints only the final line for a job that finishes at once', () => {
    const { stream, text } = fakeStream(false);
    const progress = createProgress({ stream, total: 50, now: () => 0 });
    for (let done = 1; done <= 50; done++) progress.update(done, 0);
    progress.finish();
    expect(text()).toBe('progress: 50/50 (100%), in 0 ms\n');
  });

  it('prints nothing when quiet', () => {
    const { stream, text } = fakeStream(true);
    const progress = createProgress({ stream, total: 5, quiet: true });
    progress.update(5, 0);
    progress.note('hello');
    progress.finish();
    expect(text()).toBe('');
  });
});

describe('progress on a terminal', () => {
  it('redraws one line in place, at most every 100 ms, and ends it with a newline', () => {
    let now = 0;
    const { stream, text } = fakeStream(true);
    const progress = createProgress({ stream, total: 4, now: () => now });
    progress.update(1, 0);
    progress.update(2, 0);
    now = 150;
    progress.update(3, 1);
    progress.finish();
    const frames = text().split('\r').filter(Boolean);
    expect(frames[0]).toMatch(/^\[\.{24}\] 0\/4 \(0%\)/);
    expect(frames).toHaveLength(3);
    expect(frames.at(-1)).toMatch(/^\[#{18}\.{6}\] 3\/4 \(75%\), 1 failed, 20 tasks\/s, ETA 50 ms\x1b\[K\n$/);
  });
});
