import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BREAKER_FAILURE_THRESHOLD, BREAKER_FIRST_COOLDOWN_MS, BREAKER_MAX_COOLDOWN_MS, CircuitBreaker } from './circuit-breaker.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function opened(): CircuitBreaker {
  const breaker = new CircuitBreaker();
  for (let failure = 1; failure < BREAKER_FAILURE_THRESHOLD; failure += 1) expect(breaker.failed()).toBe(false);
  expect(breaker.failed(), 'the failure that reaches the threshold opens it').toBe(true);
  return breaker;
}

describe('CircuitBreaker', () => {
  it('stays closed while failures are not consecutive', () => {
    const breaker = new CircuitBreaker();
    for (let round = 0; round < 5; round += 1) {
      for (let failure = 1; failure < BREAKER_FAILURE_THRESHOLD; failure += 1) breaker.failed();
      breaker.succeeded();
    }
    expect(breaker.state).toBe('closed');
    expect(breaker.allows()).toBe(true);
  });

  it('opens after consecutive failures, and lets exactly one probe through once the cooldown has passed', () => {
    const breaker = opened();
    expect(breaker.state).toBe('open');
    expect(breaker.allows()).toBe(false);
    expect(breaker.msUntilProbe()).toBe(BREAKER_FIRST_COOLDOWN_MS);
    vi.advanceTimersByTime(BREAKER_FIRST_COOLDOWN_MS);
    expect(breaker.state).toBe('half-open');
    expect(breaker.allows()).toBe(true);
    breaker.dispatched();
    expect(breaker.allows(), 'a second probe while the first is out').toBe(false);
    breaker.succeeded();
    expect(breaker.state).toBe('closed');
  });

  it('doubles the cooldown after each failed probe, up to its maximum, and resets it on success', () => {
    const breaker = opened();
    let cooldown = BREAKER_FIRST_COOLDOWN_MS;
    for (let probe = 0; probe < 6; probe += 1) {
      vi.advanceTimersByTime(cooldown);
      breaker.dispatched();
      expect(breaker.failed(), 'a failed probe re-opens, it does not open anew').toBe(false);
      cooldown = Math.min(BREAKER_MAX_COOLDOWN_MS, cooldown * 2);
      expect(breaker.state).toBe('open');
      expect(breaker.msUntilProbe()).toBe(cooldown);
    }
    expect(cooldown).toBe(BREAKER_MAX_COOLDOWN_MS);
    vi.advanceTimersByTime(cooldown);
    breaker.dispatched();
    breaker.succeeded();
    expect(opened().msUntilProbe()).toBe(BREAKER_FIRST_COOLDOWN_MS);
  });
});
