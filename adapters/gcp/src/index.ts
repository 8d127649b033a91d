/**
 * `@fanout/adapter-gcp`: fanout on Google Cloud. Storage is a Cloud Storage bucket, through the
 * official client library.
 */
import { gcpPlugin } from './gcp-plugin.js';

export default gcpPlugin;
export { gcpPlugin };
export { GcpStorage, GCP_ADAPTER_MODULE, GCS_MAX_OBJECT_BYTES, GCS_PAGE_SIZE, type GcpStorageSettings } from './gcp-storage.js';
export { mapGcpError, type GcpFailureContext } from './gcp-errors.js';
export { parseGcpStorageOptions, type GcpStorageOptions, type ResolvedGcpStorageOptions } from './gcp-options.js';
