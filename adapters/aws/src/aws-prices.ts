import type { ComputePricesV1, StoragePricesV1 } from '@fanout/spec';

/*
 * AWS list prices, declared as the backends' `prices` so core can estimate a job's cost and
 * report what it cost. Read 2026-12-05 from https://aws.amazon.com/lambda/pricing/ and
 * https://aws.amazon.com/s3/pricing/: us-east-1, on demand, first volume tier, free tier
 * ignored. They are declared whatever the region or `endpoint`: this is the AWS adapter, and an
 * S3-compatible store or an emulator behind `endpoint` has prices of its own (see the README).
 */

/** Lambda's request charge, either architecture: $0.20 per million requests. */
export const LAMBDA_PER_REQUEST_USD = 0.0000002;

/** Lambda's duration charge on x86_64, per GB-second. */
export const LAMBDA_X86_64_PER_GB_SECOND_USD = 0.0000166667;

/** Lambda's duration charge on arm64 (Graviton), per GB-second. */
export const LAMBDA_ARM64_PER_GB_SECOND_USD = 0.0000133334;

/** Lambda rounds billed durations up to the millisecond (since December 2020), with no minimum. */
export const LAMBDA_BILLING_GRANULARITY_MS = 1;

/** S3 Standard's PUT, COPY, POST and LIST requests: $0.005 per 1,000. */
export const S3_PER_WRITE_REQUEST_USD = 0.000005;

/** S3 Standard's GET and other read requests: $0.0004 per 1,000. */
export const S3_PER_READ_REQUEST_USD = 0.0000004;

/** S3 data transfer out to the internet, per GB (the first 10 TB a month). Inside the region it is free. */
export const S3_EGRESS_PER_GB_USD = 0.09;

/**
 * What a Lambda invocation is billed, for the function's architecture. The memory billed is the
 * function's configured memory, which the compute declares as `maxMemoryMb`, the default.
 */
export function lambdaPrices(architecture: 'arm64' | 'x86_64'): ComputePricesV1 {
  return {
    perInvocationUsd: LAMBDA_PER_REQUEST_USD,
    perGbSecondUsd: architecture === 'arm64' ? LAMBDA_ARM64_PER_GB_SECOND_USD : LAMBDA_X86_64_PER_GB_SECOND_USD,
    billingGranularityMs: LAMBDA_BILLING_GRANULARITY_MS,
    minimumBilledMs: 0,
  };
}

/** What S3 Standard bills per request and per GB read from outside AWS. */
export const S3_PRICES: Readonly<StoragePricesV1> = Object.freeze({
  perWriteUsd: S3_PER_WRITE_REQUEST_USD,
  perReadUsd: S3_PER_READ_REQUEST_USD,
  egressPerGbUsd: S3_EGRESS_PER_GB_USD,
});
