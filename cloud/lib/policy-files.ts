// The IoT policy documents and the provisioning template are read from cloud/policies/ and
// cloud/provisioning/: the very files localcore enforces and its C++ tests check. Nothing here may
// change their meaning; the only edit is the REGION / ACCOUNT_ID placeholder substitution that
// localcore makes too (localcore/lib/policy.hpp).
import * as fs from 'fs';
import * as path from 'path';

export const CLOUD_DIR = path.resolve(__dirname, '..', '..');
export const POLICY_DIR = path.join(CLOUD_DIR, 'policies');
export const PROVISIONING_DIR = path.join(CLOUD_DIR, 'provisioning');

export interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
export interface PolicyDocument {
  Version: string;
  Statement: PolicyStatement[];
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

// Only the region and account fields of an ARN are placeholders, exactly as localcore reads them.
export function substituteArn(resource: string, region: string, account: string): string {
  const m = /^arn:aws:iot:([^:]*):([^:]*):(.*)$/.exec(resource);
  if (!m) return resource;
  const r = m[1] === 'REGION' ? region : m[1];
  const a = m[2] === 'ACCOUNT_ID' ? account : m[2];
  return `arn:aws:iot:${r}:${a}:${m[3]}`;
}

/** cloud/policies/<name>.json with the placeholders replaced; fails on anything unexpected. */
export function loadIotPolicy(name: 'device' | 'claim' | 'console', region: string, account: string): PolicyDocument {
  const file = path.join(POLICY_DIR, `${name}.json`);
  const doc = readJson(file) as PolicyDocument;
  if (doc.Version !== '2012-10-17' || !Array.isArray(doc.Statement)) {
    throw new Error(`${file}: expected {"Version": "2012-10-17", "Statement": [...]}`);
  }
  return {
    Version: doc.Version,
    Statement: doc.Statement.map((s, i) => {
      if (!Array.isArray(s.Action) || !Array.isArray(s.Resource)) {
        throw new Error(`${file}: /Statement/${i}: Action and Resource must be lists`);
      }
      return { ...s, Resource: s.Resource.map((res) => substituteArn(res, region, account)) };
    }),
  };
}

/** cloud/provisioning/<name>-template.json, unchanged. */
export function loadProvisioningTemplate(name: string): Record<string, unknown> {
  return readJson(path.join(PROVISIONING_DIR, `${name}-template.json`)) as Record<string, unknown>;
}

/** The policy names the template attaches (`PolicyName` of its AWS::IoT::Policy resources). */
export function templatePolicyNames(template: Record<string, unknown>): string[] {
  const resources = (template.Resources ?? {}) as Record<string, { Type?: string; Properties?: { PolicyName?: unknown } }>;
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IoT::Policy')
    .map((r) => String(r.Properties?.PolicyName));
}

// The browser's IAM role (seed appendix A) mirrors console.json, narrowed two ways: the client id
// must start with the caller's own Cognito identity id (so one identity cannot take over another's
// session), every `*` that stands for a thing in a topic (publish, receive) is replaced by each
// configured thing name (so the console reaches only the AMRs of this deployment), and the topic
// filters are the fleet view's wildcard filters (CONSOLE_SUBSCRIBE_FILTERS). AWS grants a Cognito
// identity only what BOTH the role and the attached IoT policy allow. An unknown resource shape is
// an error: a new line in console.json must be mapped here deliberately, not passed through wide
// open.
//
// iot:Subscribe: exactly the wildcard filters the console's fleet view subscribes with
// (client/public/js/fleet.js FILTERS; test/params.test.ts compares the two), whatever the number of
// things: AWS allows 8 filters per SUBSCRIBE and 50 subscriptions per connection, so per-thing
// filters stop at 6 AMRs. A subscription by itself delivers nothing: iot:Receive, still per
// configured thing below, decides which messages reach the browser. `+` is a literal character in
// IAM and IoT policy resources, so each entry allows that one filter string and no other.
const CONSOLE_SUBSCRIBE_FILTERS: Record<string, string[]> = {
  'amr/*': ['amr/+/status', 'amr/+/heartbeat', 'amr/+/cmd/result'],
  '$aws/things/*/shadow/name/robot/*': [
    '$aws/things/+/shadow/name/robot/get/accepted', '$aws/things/+/shadow/name/robot/get/rejected',
    '$aws/things/+/shadow/name/robot/update/documents'],
  '$aws/events/presence/*': ['$aws/events/presence/connected/+', '$aws/events/presence/disconnected/+'],
};

export const COGNITO_IDENTITY = '${cognito-identity.amazonaws.com:sub}';
export const CONSOLE_CLIENT_ID_PREFIX = 'console-';

export function consoleRoleResources(resource: string, things: string[]): string[] {
  const m = /^(arn:aws:iot:[^:]+:[0-9]+:)(client|topic|topicfilter)\/(.*)$/.exec(resource);
  if (!m) throw new Error(`console.json: resource ${resource} is not an IoT client/topic ARN`);
  const [, prefix, kind, rest] = m;
  if (kind === 'client') {
    if (rest !== `${CONSOLE_CLIENT_ID_PREFIX}*`) throw new Error(`console.json: unexpected client resource ${resource}`);
    return [`${prefix}client/${CONSOLE_CLIENT_ID_PREFIX}${COGNITO_IDENTITY}-*`];
  }
  if (kind === 'topicfilter') {
    const filters = CONSOLE_SUBSCRIBE_FILTERS[rest];
    if (!filters) throw new Error(`console.json: no browser-role mapping for resource ${resource}; add one in lib/policy-files.ts`);
    return filters.map((f) => `${prefix}topicfilter/${f}`);
  }
  const perThing = (f: (t: string) => string) => things.map((t) => `${prefix}${kind}/${f(t)}`);
  if (rest === 'amr/*') return perThing((t) => `amr/${t}/*`);
  if (rest === 'amr/*/cmd/call') return perThing((t) => `amr/${t}/cmd/call`);
  const shadow = /^\$aws\/things\/\*\/(shadow\/name\/[A-Za-z0-9:_-]+\/(?:\*|get))$/.exec(rest);
  if (shadow) return perThing((t) => `$aws/things/${t}/${shadow![1]}`);
  // Presence events are published per client id: $aws/events/presence/<event>/<client id>.
  if (rest === '$aws/events/presence/*') return perThing((t) => `$aws/events/presence/*/${t}`);
  throw new Error(`console.json: no browser-role mapping for resource ${resource}; add one in lib/policy-files.ts`);
}

export function consoleRoleStatements(consolePolicy: PolicyDocument, things: string[]): PolicyStatement[] {
  return consolePolicy.Statement.map((s) => {
    if (s.Effect !== 'Allow' || s.Condition) throw new Error('console.json: only unconditional Allow statements are mapped');
    return { Effect: 'Allow', Action: s.Action, Resource: s.Resource.flatMap((r) => consoleRoleResources(r, things)) };
  });
}
