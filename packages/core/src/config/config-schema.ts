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

const profileSchema = z.strictObject({
  compute: backendSchema.optional(),
  storage: backendSchema.optional(),
  prefix: z.string().optional(),
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
/** Per-job defaults as a user writes them. */
export type JobDefaults = z.input<typeof jobDefaultsSchema>;
export type RetryPolicy = z.infer<typeof retriesSchema>;
