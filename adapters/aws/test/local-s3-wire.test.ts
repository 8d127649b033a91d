/**
 * The conformance suite's wire chaos group on the local backend's compute with S3 storage on
 * fauxqs, the wire fault proxy in front of it: the client's storage options name the proxy's
 * client port, and the local worker processes, which open the client's storage from its
 * reference, open the worker port. They get only an explicit environment, so the emulator's
 * credentials travel in the storage options (and so in the reference), as for any S3-compatible
 * store. The worker processes import the built adapter: build first.
 */
import { describeWireChaos } from '@fanout/conformance';
import { afterAll } from 'vitest';
// This package does not depend on the local adapter (core embeds it as its default backend), so
// its plugin comes from its sources; its worker processes run its built runtime either way.
import localPlugin from '../../local/src/index.js';
import awsPlugin from '../src/index.js';
import { startWireS3Fixture, withWorkerEndpoint } from './wire-fixture.js';

const wire = await startWireS3Fixture({ bucket: 'fanout-wire-local', prefix: 'wire/' });
afterAll(() => wire.stop());

describeWireChaos({
  plugin: localPlugin,
  storagePlugin: withWorkerEndpoint(awsPlugin, wire.proxy.endpoints.worker),
  storageOptions: wire.storageOptions,
  computeOptions: { workers: 4, memoryMb: 256 },
  proxy: wire.proxy,
  services: ['s3'],
  label: 'local+s3',
});
