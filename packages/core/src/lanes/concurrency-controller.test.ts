import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConcurrencyController } from './concurrency-controller.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('ConcurrencyController', () => {
  it('hands out at most its ceiling of slots, over every caller, and takes them back', () => {
    const controller = new ConcurrencyController(3);
    expect([1, 2, 3, 4].map(() => controller.tryAcquire())).toEqual([true, true, true, false]);
    expect(controller.inFlight).toBe(3);
    controller.release();
    expect(controller.tryAcquire()).toBe(true);
    expect(controller.tryAcquire()).toBe(false);
  });

  it('halves its cap when throttled and adds one back per success, never past the ceiling or below 1', () => {
    const controller = new ConcurrencyController(8);
    controller.throttled(undefined);
    expect(controller.cap).toBe(4);
    controller.throttled(undefined);
    controller.throttled(undefined);
    controller.throttled(undefined);
    expect(controller.cap).toBe(1);
    for (let success = 0; success < 20; success += 1) controller.succeeded();
    expect(controller.cap).toBe(8);
  });

  it("pauses new slots for the platform's Retry-After, then wakes its subscribers", async () => {
    vi.useFakeTimers();
    const controller = new ConcurrencyController(4);
    const woken = vi.fn();
    controller.subscribe(woken);
    controller.throttled(1_500);
    expect(controller.tryAcquire()).toBe(false);
    vi.advanceTimersByTime(1_499);
    expect(controller.tryAcquire()).toBe(false);
    expect(controller.tryAcquire(), 'still paused').toBe(false);
    vi.advanceTimersByTime(1);
    expect(controller.tryAcquire()).toBe(true);
    controller.release();
    woken.mockClear();
    // The wake-up comes once the pause has really passed (a millisecond late rather than early).
    vi.advanceTimersByTime(1);
    await Promise.resolve();
    expect(woken).toHaveBeenCalled();
  });

  it('wakes a waiting job after a pause even when its timer fires before the clock reaches the end', async () => {
    vi.useFakeTimers();
    const controller = new ConcurrencyController(1);
    const woken = vi.fn();
    controller.subscribe(woken);
    controller.throttled(100);
    // The clock lags the timer: when it fires, the pause is not yet over by the clock.
    vi.setSystemTime(Date.now() - 5);
    vi.advanceTimersByTime(101);
    await Promise.resolve();
    expect(controller.tryAcquire()).toBe(false);
    expect(woken).not.toHaveBeenCalled();
    vi.advanceTimersByTime(10);
    await Promise.resolve();
    expect(woken).toHaveBeenCalled();
    expect(controller.tryAcquire()).toBe(true);
  });

  it('wakes waiting jobs in turn when a slot frees, and not at all once unsubscribed', async () => {
    const controller = new ConcurrencyController(1);
    const order: string[] = [];
    const unsubscribeA = controller.subscribe(() => order.push('a'));
    controller.subscribe(() => order.push('b'));
    controller.tryAcquire();
    controller.release();
    await Promise.resolve();
    controller.tryAcquire();
    controller.release();
    await Promise.resolve();
    // Who is told first rotates, so that one job cannot take every freed slot.
    expect(order).toEqual(['b', 'a', 'a', 'b']);
    unsubscribeA();
    controller.release();
    await Promise.resolve();
    expect(order.slice(4)).toEqual(['b']);
  });

  it('refuses a ceiling that is not a whole number of at least 1', () => {
    expect(() => new ConcurrencyController(0)).toThrow(/whole number of at least 1; got 0/);
    expect(() => new ConcurrencyController(2.5)).toThrow(/got 2.5/);
  });
});
