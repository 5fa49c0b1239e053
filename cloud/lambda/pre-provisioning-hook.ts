// Lambda entry point of the pre-provisioning hook (lambda/pre-provisioning.ts), bound to the AWS SDK
// v3 that the Node.js runtime ships. Environment: FLEET_CLAIM_CERTIFICATE_IDS (comma-separated claim
// certificate ids that may name any serial; empty = every claim certificate is bound to its own
// device), METRIC_NAMESPACE (of the refusal count), THING_NAME_PREFIX (the deployment's
// thingNamePrefix: every provisioned thing name must start with it; empty = no prefix rule).
import { handlePreProvisioning, HookPort, parseCertificateIdList, parseThingNamePrefix } from './pre-provisioning';

/* eslint-disable @typescript-eslint/no-require-imports */
// The SDK is provided by the runtime, not installed here: load it untyped at run time.
const iotSdk = require('@aws-sdk/client-iot');

const iot = new iotSdk.IoTClient({});
const notFound = (e: unknown) => (e as { name?: string }).name === 'ResourceNotFoundException';

const port: HookPort = {
  async certificatePem(certificateId) {
    try {
      const r = await iot.send(new iotSdk.DescribeCertificateCommand({ certificateId }));
      return r.certificateDescription?.certificatePem ?? undefined;
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  },
  async describeThing(thingName) {
    try {
      const r = await iot.send(new iotSdk.DescribeThingCommand({ thingName }));
      return { attributes: r.attributes ?? {} };
    } catch (e) {
      if (notFound(e)) return null;
      throw e;
    }
  },
};

const config = {
  fleetClaimCertificateIds: parseCertificateIdList(process.env.FLEET_CLAIM_CERTIFICATE_IDS),
  metricNamespace: process.env.METRIC_NAMESPACE || 'AmrGateway',
  thingNamePrefix: parseThingNamePrefix(process.env.THING_NAME_PREFIX),
};

// Straight to stdout, not console.log: the runtime prefixes console lines with a timestamp and the
// request id, and CloudWatch reads an Embedded Metric Format document only from a bare JSON line.
const writeLine = (line: string) => {
  process.stdout.write(`${line}\n`);
};

export async function handler(event: Record<string, unknown>): Promise<{ allowProvisioning: boolean }> {
  return handlePreProvisioning(event, port, config, writeLine);
}
