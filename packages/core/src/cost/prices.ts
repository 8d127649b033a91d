import type { ComputePricesV1, StoragePricesV1, StorageRequestCounts } from '@fanout/spec';

const BYTES_PER_GB = 1e9;

/** The duration a platform bills for an invocation that ran `durationMs`. */
export function billedMs(durationMs: number, prices: ComputePricesV1): number {
  const granularity = prices.billingGranularityMs ?? 1;
  const floor = Math.max(durationMs, prices.minimumBilledMs ?? 0, 0);
  return granularity > 0 ? Math.ceil(floor / granularity) * granularity : floor;
}

/**
 * What one invocation costs: the request plus GB-seconds of its memory. `billed` is the duration
 * the platform reported billing, when it did; else the measured one is billed by the price rules.
 */
export function invocationCostUsd(durationMs: number, memoryMb: number, prices: ComputePricesV1, billed?: number): number {
  const seconds = (billed ?? billedMs(durationMs, prices)) / 1000;
  return (prices.perInvocationUsd ?? 0) + (prices.perGbSecondUsd ?? 0) * (memoryMb / 1024) * seconds;
}

/** The memory an invocation is billed for: the declared one, else the memory workers are given (0 if unknown). */
export function billedMemoryMb(prices: ComputePricesV1, maxMemoryMb: number): number {
  return prices.memoryMb ?? (Number.isFinite(maxMemoryMb) ? maxMemoryMb : 0);
}

/** What some storage requests cost, with `egressBytes` read from outside the store's platform. */
export function storageCostUsd(counts: StorageRequestCounts, prices: StoragePricesV1, egressBytes = 0): number {
  const writes = counts.put + counts.create + counts.list + counts.delete;
  const reads = counts.get + counts.getRange + counts.head;
  return writes * (prices.perWriteUsd ?? 0) + reads * (prices.perReadUsd ?? 0) + (egressBytes / BYTES_PER_GB) * (prices.egressPerGbUsd ?? 0);
}
