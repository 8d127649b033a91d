import { assertValidStorageKey } from '@fanout/adapter-kit';
import type { AdapterPluginV1 } from '@fanout/spec';
import { z } from 'zod';

/** A backend choice: a plugin name, or a name with options for that plugin. */
const backendSchema = z.union([
  z.string().min(1),
  z.strictObject({
    backend: z.string().min(1),
    options: z.record(z.string(), z.unknown()).optional(),
  }),
]);

const retriesSchema = z.strictObject({
  transient: z.int().min(0).max(100).optional(),
  timeout: z.int().min(0).max(100).optional(),
  crash: z.int().min(0).max(100).optional(),
  lost: z.int().min(0).max(100).optional(),
  outOfMemory: z.int().min(0).max(100).optional(),
  userCode: z.int().min(0).max(100).optional(),
});

/** Defaults for every job an executor runs; each can be overridden per job. */
export const jobDefaultsSchema = z.strictObject({
  chunkSize: z.union([z.literal('auto'), z.int().min(1).max(100_000)]).optional(),
  concurrency: z.int().min(1).max(100_000).optional(),
  timeoutMs: z.int().min(100).optional(),
  mode: z.enum(['auto', 'sync', 'async']).optional(),
  retries: retriesSchema.optional(),
  backups: z.boolean().optional(),
  durable: z.boolean().optional(),
});

/**
 * One lane of a job: a compute backend and the storage its workers use. A string names a profile
 * (its compute and storage) or, failing that, a backend (storage follows compute).
 */
const laneSchema = z.union([
  z.string().min(1),
  z.strictObject({
    /** How the lane is named in options, stats and `fanout status`. Default: the profile or compute backend name. */
    name: z.string().regex(/^[A-Za-z0-9][\w.-]*$/, 'letters, digits, ".", "_" and "-", starting with a letter or digit').optional(),
    /** A profile whose compute and storage this lane starts from. */
    profile: z.string().min(1).optional(),
    compute: backendSchema.optional(),
    storage: backendSchema.optional(),
    /** Share of work when several lanes have a free slot at once. Default: 1. */
    weight: z.number().positive().max(1_000_000).optional(),
    /** Most invocations in flight on this lane, over every job. Default: the job defaults, else the backend's. */
    concurrency: z.int().min(1).max(100_000).optional(),
    mode: z.enum(['auto', 'sync', 'async']).optional(),
    /** Memory of this lane's workers, in MiB (passed to the compute backend as its `memoryMb` option). */
    memoryMb: z.int().min(1).max(1_000_000).optional(),
  }),
]);

/**
 * The key prefix of everything fanout writes: a relative path of `/`-separated names (a trailing
 * `/` is dropped), or empty for the top of the storage. Refused here, so that `connect()` names
 * the setting, rather than the storage at the first upload.
 */
const prefixSchema = z.string().refine((prefix) => isKeyPrefix(prefix), {
  error: (issue) =>
    `${JSON.stringify(issue.input)} is not a key prefix: every key fanout writes starts with it, so it must be a relative path of "/"-separated names, such as "fanout" or "team-a/fanout" (no leading "/", no empty, "." or ".." name, no backslash or control character), or empty for the top of the storage.`,
});

function isKeyPrefix(prefix: string): boolean {
  if (prefix === '') return true;
  try {
    // Checked as a listing prefix, with one trailing "/" however many were written.
    assertValidStorageKey(`${prefix.replace(/\/+$/, '')}/`, true);
    return true;
  } catch {
    return false;
  }
}

const profileSchema = z.strictObject({
  compute: backendSchema.optional(),
  storage: backendSchema.optional(),
  /** Run jobs over several lanes; without it, one lane of `compute` and `storage`. */
  lanes: z.array(laneSchema).min(1).optional(),
  prefix: prefixSchema.optional(),
  defaults: jobDefaultsSchema.optional(),
});

const pluginSchema = z.custom<AdapterPluginV1>(
  (value) => typeof value === 'object' && value !== null && typeof (value as { name?: unknown }).name === 'string',
  { message: 'expected an adapter plugin object (the default export of an adapter package)' },
);

/** The whole configuration, as written in code or in `fanout.config.*`. */
export const configSchema = profileSchema.extend({
  /** Named alternatives; `profile` (or `FANOUT_PROFILE`) picks one, layered over the top level. */
  profiles: z.record(z.string(), profileSchema).optional(),
  profile: z.string().optional(),
  /** Adapter plugins beyond the built-in ones, by object. */
  plugins: z.array(pluginSchema).optional(),
});

/** Configuration as a user writes it. */
export type FanoutConfig = z.input<typeof configSchema>;
/** A backend choice as a user writes it. */
export type BackendChoice = z.input<typeof backendSchema>;
/** A lane as a user writes it. */
export type LaneChoice = z.input<typeof laneSchema>;
/** Per-job defaults as a user writes them. */
export type JobDefaults = z.input<typeof jobDefaultsSchema>;
export type RetryPolicy = z.infer<typeof retriesSchema>;
