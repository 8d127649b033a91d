import type { StorageBackendV1 } from '@fanout/spec';
import type { LaneStorage } from '../lanes/lane.js';
import type { StorageLayout } from '../protocol/layout.js';
import { bundleInline, bundleModule, type CodeBundle } from './bundler.js';
import type { TaskSource } from './task-source.js';

/** An executor's code bundles: each task source bundled once, each bundle stored once per storage. */
export class BundleStore {
  private readonly bundles = new Map<string, Promise<CodeBundle>>();

  constructor(private readonly layout: StorageLayout) {}

  /** The bundle of a task source, built on first use; a failed build is tried again next time. */
  bundleFor(source: TaskSource): Promise<CodeBundle> {
    const cacheKey = source.kind === 'module' ? `module:${source.file}` : `inline:${source.source}`;
    let bundle = this.bundles.get(cacheKey);
    if (!bundle) {
      bundle = source.kind === 'module' ? bundleModule(source.file) : bundleInline(source.source, source.resolveDirectory);
      this.bundles.set(cacheKey, bundle);
      bundle.catch(() => this.bundles.delete(cacheKey));
    }
    return bundle;
  }

  /**
   * Store the bundle in a lane's storage unless this executor did already: one conditional
   * create, which leaves an existing copy untouched, or else one plain put. The key is the
   * content's hash, so overwriting writes the same bytes; a HEAD first would cost a request on every job.
   */
  async upload(storage: StorageBackendV1, laneStorage: LaneStorage, bundle: CodeBundle): Promise<void> {
    if (laneStorage.uploaded.has(bundle.sha256)) return;
    const key = this.layout.codeKey(bundle.sha256);
    if (storage.create && laneStorage.capabilities.conditionalCreate) await storage.create(key, bundle.contents);
    else await storage.put(key, bundle.contents);
    laneStorage.uploaded.add(bundle.sha256);
  }

  /**
   * Overwrite a stored copy that failed its integrity check with this client's bytes. A plain
   * put is exact here: the key names the content's hash, so whatever else writes it (another
   * client repairing it too) writes these same bytes, and no version needs to be matched.
   */
  async replace(storage: StorageBackendV1, bundle: CodeBundle): Promise<void> {
    await storage.put(this.layout.codeKey(bundle.sha256), bundle.contents);
  }
}
