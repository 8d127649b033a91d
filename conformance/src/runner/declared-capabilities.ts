import { writeFile } from 'node:fs/promises';
import { resolveComputeCapabilities, resolveStorageCapabilities, type ResolvedComputeCapabilities, type ResolvedStorageCapabilities } from '@fanout/spec';
import { computeFactoryFromAdapter, storageFactoryFromAdapter, type AdapterSetup } from '../factories.js';

/** The declared capabilities of the backends a run certified (absent when the plugin provides none). */
export type DeclaredCapabilities = {
  storage?: ResolvedStorageCapabilities;
  compute?: ResolvedComputeCapabilities;
};

/**
 * What an adapter's backends declare, with the spec's defaults filled in: the facts every skip
 * in a certification rests on, for the report's capability table. Builds one instance of each
 * backend the setup provides, reads its capabilities and disposes it.
 */
export async function readDeclaredCapabilities(setup: AdapterSetup): Promise<DeclaredCapabilities> {
  const capabilities: DeclaredCapabilities = {};
  if (typeof (setup.storagePlugin ?? setup.plugin).createStorage === 'function') {
    const storage = await storageFactoryFromAdapter(setup)();
    capabilities.storage = resolveStorageCapabilities(storage.capabilities);
    await storage.dispose?.();
  }
  if (typeof setup.plugin.createCompute === 'function') {
    const { compute, storage, dispose } = await computeFactoryFromAdapter(setup)();
    capabilities.compute = resolveComputeCapabilities(compute.capabilities);
    if (dispose) await dispose();
    else await Promise.all([compute.dispose?.(), storage.dispose?.()]);
  }
  return capabilities;
}

/** {@link readDeclaredCapabilities}, written as JSON to `file` (used by the runner's test file). */
export async function writeDeclaredCapabilities(setup: AdapterSetup, file: string): Promise<void> {
  await writeFile(file, JSON.stringify(await readDeclaredCapabilities(setup), unboundedAsText));
}

/**
 * A `JSON.stringify` replacer for capabilities and reports: JSON has no `Infinity`, and would
 * write an unbounded capability (`maxMemoryMb`, `storedInputsAboveBytes`) as `null`.
 */
export function unboundedAsText(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) && !Number.isNaN(value) ? String(value) : value;
}

/** The `JSON.parse` reviver that undoes {@link unboundedAsText}. */
export function unboundedFromText(_key: string, value: unknown): unknown {
  return value === 'Infinity' ? Number.POSITIVE_INFINITY : value === '-Infinity' ? Number.NEGATIVE_INFINITY : value;
}
