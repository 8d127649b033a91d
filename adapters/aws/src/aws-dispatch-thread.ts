// A dispatch thread of AwsCompute: its own Lambda client, built from the settings the main
// thread's AwsCompute passes (with dispatchThreads 0, so the thread sends in-process).
import { serveComputeInThreads } from '@fanout/adapter-kit';
import { AwsCompute, type AwsComputeSettings } from './aws-compute.js';

serveComputeInThreads((settings: AwsComputeSettings) => new AwsCompute(settings));
