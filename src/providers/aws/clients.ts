import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { S3Client } from '@aws-sdk/client-s3';

import type { AwsEndpoints } from './desired.js';

export type { AwsEndpoints };

/**
 * The three SDK clients meso talks to. Only `send` is used, so tests put aws-sdk-client-mock on the
 * real clients and every call is the SDK v3 command a real account would receive.
 */
export interface AwsClients {
  ec2: EC2Client;
  elb: ElasticLoadBalancingClient;
  s3: S3Client;
}

// The SDK warns on Node 20 at the first client; meso supports Node 20, so the notice is noise for its users.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

/**
 * Credentials come only from the SDK's standard chain (environment, shared profile, instance role).
 * Without an override the SDK also honours `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`.
 */
export function s3Client(region: string, endpoint?: string): S3Client {
  return new S3Client({
    region,
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
  });
}

export function awsClients(region: string, endpoints: AwsEndpoints = {}): AwsClients {
  return {
    ec2: new EC2Client({ region, ...(endpoints.ec2 === undefined ? {} : { endpoint: endpoints.ec2 }) }),
    elb: new ElasticLoadBalancingClient({
      region,
      ...(endpoints.elb === undefined ? {} : { endpoint: endpoints.elb }),
    }),
    s3: s3Client(region, endpoints.s3),
  };
}

export function closeClients(c: AwsClients): void {
  c.ec2.destroy();
  c.elb.destroy();
  c.s3.destroy();
}
