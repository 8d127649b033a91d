import type { StorageObjectInfo, StorageBackendV1 } from '@fanout/spec';

/** Every object under `prefix`, page after page, in the storage's (key) order. */
export async function listAll(storage: StorageBackendV1, prefix: string): Promise<StorageObjectInfo[]> {
  const objects: StorageObjectInfo[] = [];
  let cursor: string | undefined;
  do {
    const page = await storage.list(prefix, cursor === undefined ? {} : { cursor });
    objects.push(...page.objects);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return objects;
}
