import { ErrorCode, FanoutError } from '@fanout/spec';
import type { z } from 'zod';
import type { BackendChoice, LaneChoice, configSchema } from './config-schema.js';

type Profile = NonNullable<z.infer<typeof configSchema>['profiles']>[string];

export type BackendSelection = {
  backend: string;
  options: Record<string, unknown>;
  /** Where the options sit in the configuration, for error messages. */
  configPath: string;
  /**
   * The setting that named the backend, for error messages: `compute`, `profiles.ci.storage`,
   * `lanes.1.compute`, `compute (FANOUT_COMPUTE)`. A storage that follows its compute backend
   * names the compute setting, where the name was written.
   */
  setting: string;
};

/** One lane after resolution: the backends it pairs and its settings. */
export type ResolvedLane = {
  name: string;
  compute: BackendSelection;
  storage: BackendSelection;
  /** Share of work when several lanes have a free slot at once. */
  weight: number;
  /** Most invocations in flight on this lane over every job; `undefined`: the job defaults, else the backend's. */
  concurrency: number | undefined;
  mode: 'auto' | 'sync' | 'async' | undefined;
};

export function selection(choice: BackendChoice, setting: string, configPath: string): BackendSelection {
  return typeof choice === 'string'
    ? { backend: choice, options: {}, configPath, setting }
    : { backend: choice.backend, options: choice.options ?? {}, configPath, setting };
}

/** Storage follows compute unless chosen: an AWS lane keeps its data in S3, a local one in a folder. */
export function storageFollowing(compute: BackendSelection, configPath: string): BackendSelection {
  return { backend: compute.backend, options: {}, configPath, setting: compute.setting };
}

/**
 * The lanes a configuration names, each with its backends. A string is a profile's name when one
 * is defined (its compute and storage), else a backend's; an object may start from a profile and
 * override its backends. `configPath` is where the list sits (`lanes` or `profiles.x.lanes`).
 */
export function resolveLanes(choices: readonly LaneChoice[], profiles: Record<string, Profile>, configPath: string): ResolvedLane[] {
  const lanes = choices.map((choice, index) => resolveLane(choice, profiles, `${configPath}.${index}`));
  const seen = new Map<string, number>();
  lanes.forEach((lane, index) => {
    const earlier = seen.get(lane.name);
    if (earlier !== undefined) {
      throw laneError(
        `${configPath}.${index} is named "${lane.name}" like ${configPath}.${earlier}; give one of them a "name" (lane names pick lanes in map() and --lanes).`,
      );
    }
    seen.set(lane.name, index);
  });
  return lanes;
}

function resolveLane(choice: LaneChoice, profiles: Record<string, Profile>, path: string): ResolvedLane {
  const written = typeof choice === 'string' ? { [choice in profiles ? 'profile' : 'compute']: choice } : choice;
  const { name, profile: profileName, compute, storage, weight, concurrency, mode, memoryMb } = written as Exclude<LaneChoice, string>;
  let profile: Profile | undefined;
  if (profileName !== undefined) {
    profile = profiles[profileName];
    if (!profile) {
      const known = Object.keys(profiles);
      throw laneError(`${path} names profile "${profileName}", which is not defined. ${known.length ? `Defined profiles: ${known.join(', ')}.` : 'No profiles are defined.'}`);
    }
  }
  const computeChoice = compute ?? profile?.compute;
  if (computeChoice === undefined) {
    throw laneError(`${path} has no compute backend: give it "compute", or a "profile" that sets one.`);
  }
  const computeSetting = compute !== undefined ? `${path}.compute` : `profiles.${profileName}.compute`;
  let computeSelection = selection(computeChoice, computeSetting, `${computeSetting}.options`);
  if (memoryMb !== undefined) computeSelection = { ...computeSelection, options: { ...computeSelection.options, memoryMb } };
  const storageChoice = storage ?? profile?.storage;
  const storageSetting = storage !== undefined ? `${path}.storage` : `profiles.${profileName}.storage`;
  const storagePath = `${storageSetting}.options`;
  return {
    name: name ?? profileName ?? computeSelection.backend,
    compute: computeSelection,
    storage: storageChoice !== undefined ? selection(storageChoice, storageSetting, storagePath) : storageFollowing(computeSelection, storagePath),
    weight: weight ?? 1,
    concurrency,
    mode,
  };
}

function laneError(message: string): FanoutError {
  return new FanoutError(message, { code: ErrorCode.CONFIG_INVALID, fault: 'caller' });
}
