// Lambda entry point of the console-policy reconciler (lambda/console-policy.ts), bound to the AWS
// SDK v3 of the Node.js runtime. Environment: IDENTITY_POOL_ID, USER_POOL_PROVIDER (the user
// pool's provider name, cognito-idp.<region>.amazonaws.com/<pool id>), POLICY_NAME.
import { ConsolePolicyPorts, Identity, reconcileConsolePolicy } from './console-policy';

/* eslint-disable @typescript-eslint/no-require-imports */
const iotSdk = require('@aws-sdk/client-iot');
const idSdk = require('@aws-sdk/client-cognito-identity');

const iot = new iotSdk.IoTClient({});
const cognito = new idSdk.CognitoIdentityClient({});

const ports: ConsolePolicyPorts = {
  async listIdentities(IdentityPoolId) {
    const out: Identity[] = [];
    let NextToken: string | undefined;
    do {
      const r = await cognito.send(new idSdk.ListIdentitiesCommand({ IdentityPoolId, MaxResults: 60, NextToken }));
      for (const i of r.Identities ?? []) out.push({ identityId: i.IdentityId, logins: i.Logins ?? [] });
      NextToken = r.NextToken;
    } while (NextToken);
    return out;
  },
  async listTargetsForPolicy(policyName) {
    const out: string[] = [];
    let marker: string | undefined;
    do {
      const r = await iot.send(new iotSdk.ListTargetsForPolicyCommand({ policyName, marker, pageSize: 250 }));
      out.push(...(r.targets ?? []));
      marker = r.nextMarker;
    } while (marker);
    return out;
  },
  async attachPolicy(policyName, target) {
    await iot.send(new iotSdk.AttachPolicyCommand({ policyName, target }));
  },
  async detachPolicy(policyName, target) {
    await iot.send(new iotSdk.DetachPolicyCommand({ policyName, target }));
  },
};

export async function handler(): Promise<void> {
  const env = (k: string) => {
    const v = process.env[k];
    if (!v) throw new Error(`environment variable ${k} is not set`);
    return v;
  };
  const r = await reconcileConsolePolicy(env('IDENTITY_POOL_ID'), env('USER_POOL_PROVIDER'), env('POLICY_NAME'), ports);
  if (r.attached.length || r.detached.length) {
    console.log(JSON.stringify({ attached: r.attached, detached: r.detached, kept: r.kept.length }));
  }
}
