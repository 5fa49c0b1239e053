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
// configured thing name (so the console reaches only the AMRs of this deployment) or, with
// thingNamePrefix, by `<prefix>*` (CONSOLE_THING_PREFIX below explains why that is no wider), and the topic
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

// CONSOLE_THING_PREFIX: with thingNamePrefix the role names `<prefix>*` where it would name each
// thing, so its size stays the same whatever the fleet's size. IAM's `*` matches any characters,
// '/' included, while a thing name cannot contain '/' (params.ts), so per resource:
// - `amr/<prefix>*/*` (receive) allows exactly the union of `amr/<thing>/*` over all things named
//   with the prefix: a topic beyond the first level after the prefix is a deeper topic of the thing
//   named by that first level, which `amr/<thing>/*` allows too.
// - `$aws/things/<prefix>*/shadow/name/robot/*` (receive) and `$aws/events/presence/*/<prefix>*`
//   (receive) also match topics with extra levels, e.g. `$aws/things/AMR-1/x/shadow/name/robot/get`.
//   Receiving needs a subscription, and the role allows only the eight filters of
//   CONSOLE_SUBSCRIBE_FILTERS, whose `+` stands for exactly one level: no subscription of the console
//   ever matches such a topic, so nothing more arrives than with the per-thing list.
// - `amr/<prefix>*/cmd/call`, `amr/<prefix>*/watch` (publish and retain) and
//   `$aws/things/<prefix>*/shadow/name/robot/get` (publish) would let the console publish to
//   `amr/AMR-1/x/cmd/call`, `amr/AMR-1/status/cmd/call` or `amr/AMR-1/x/watch`, which no
//   per-thing ARN allows. A Deny of `<prefix>*/*` before the same literal tail takes exactly these
//   back: with a literal tail, a topic matches the Deny if and only if the part between the prefix
//   and the tail contains a '/', i.e. is more than one topic level. This is done for every resource
//   whose tail after `<prefix>*` is literal (consolePrefixDenyResources). What remains allowed is
//   `amr/<one level starting with the prefix>/cmd/call` (and the same for the watch and the shadow get); a level
//   that is no valid thing name (say `AMR-1.5`) reaches no AMR, since each gateway subscribes only
//   below its own thing name (policies/device.json).
// What the prefix does widen, on purpose: every thing named with the prefix, configured or not
// (e.g. an AMR provisioned after the deployment), is reachable as if it were listed.
export function consoleRoleResources(resource: string, things: string[], thingNamePrefix?: string): string[] {
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
  const perThing = (f: (t: string) => string) => (thingNamePrefix !== undefined
    ? [`${prefix}${kind}/${f(`${thingNamePrefix}*`)}`]
    : things.map((t) => `${prefix}${kind}/${f(t)}`));
  if (rest === 'amr/*') return perThing((t) => `amr/${t}/*`);
  if (rest === 'amr/*/cmd/call') return perThing((t) => `amr/${t}/cmd/call`);
  // The watch message (docs/watched-heartbeat.md): console.json's only retained publish.
  if (rest === 'amr/*/watch') return perThing((t) => `amr/${t}/watch`);
  const shadow = /^\$aws\/things\/\*\/(shadow\/name\/[A-Za-z0-9:_-]+\/(?:\*|get))$/.exec(rest);
  if (shadow) return perThing((t) => `$aws/things/${t}/${shadow![1]}`);
  // Presence events are published per client id: $aws/events/presence/<event>/<client id>.
  if (rest === '$aws/events/presence/*') return perThing((t) => `$aws/events/presence/*/${t}`);
  throw new Error(`console.json: no browser-role mapping for resource ${resource}; add one in lib/policy-files.ts`);
}

/**
 * The Deny that takes back the deeper topics `<prefix>*` matches in one allowed resource of the
 * role (see CONSOLE_THING_PREFIX): for `<head>/<prefix>*<tail>` with a literal head and a literal
 * tail starting with '/', `<head>/<prefix>*` + `/*` + `<tail>`; nothing for the others.
 */
export function consolePrefixDenyResources(resource: string, thingNamePrefix: string): string[] {
  const at = resource.indexOf(`/${thingNamePrefix}*/`);
  if (at < 0) return [];
  const head = resource.slice(0, at + 1);
  const tail = resource.slice(at + 1 + thingNamePrefix.length + 1);
  if (/[*?]/.test(head) || /[*?]/.test(tail)) return [];
  return [`${head}${thingNamePrefix}*/*${tail}`];
}

// A Deny in console.json is accepted only where it takes back the topics more than one level deep
// that a `*` standing for a thing adds to one of its Allow resources (IoT policies match '/' with
// `*` too): `<head>*/*<tail>` for an allowed `<head>*<tail>` with a literal tail, for actions that
// Allow grants there (amr/*/*/watch: docs/watched-heartbeat.md). The role never allows those
// topics: it names each thing (no '/') in place of that `*`, or `<prefix>*` with the same Deny of
// its own (consolePrefixDenyResources). So it is not copied and the role's size stays as it was;
// AWS enforces the IoT policy's Deny all the same. Any other Deny must be mapped deliberately.
function deeperTopicsDenied(deny: PolicyStatement, allows: PolicyStatement[]): boolean {
  if (deny.Condition) return false;
  return deny.Resource.every((r) => {
    const m = /^(arn:aws:iot:[^:]+:[^:]+:topic\/[^*?]*)\*\/\*(\/[^*?]+)$/.exec(r);
    return m !== null && allows.some((s) => s.Resource.includes(`${m[1]}*${m[2]}`)
      && deny.Action.every((action) => s.Action.includes(action)));
  });
}

export function consoleRoleStatements(consolePolicy: PolicyDocument, things: string[], thingNamePrefix?: string): PolicyStatement[] {
  const allows = consolePolicy.Statement.filter((s) => s.Effect === 'Allow');
  for (const s of consolePolicy.Statement.filter((st) => st.Effect !== 'Allow')) {
    if (s.Effect !== 'Deny' || !deeperTopicsDenied(s, allows)) {
      throw new Error(`console.json: no browser-role mapping for the Deny of ${s.Resource.join(', ')}; `
        + 'only a Deny of the deeper topics of an allowed `<head>*<tail>` is known (lib/policy-files.ts)');
    }
  }
  const allow: PolicyStatement[] = allows.map((s) => {
    if (s.Condition) throw new Error('console.json: only unconditional Allow statements are mapped');
    return { Effect: 'Allow', Action: s.Action, Resource: s.Resource.flatMap((r) => consoleRoleResources(r, things, thingNamePrefix)) };
  });
  if (thingNamePrefix === undefined) return allow;
  const deny: PolicyStatement[] = allow
    .map((s) => ({ Effect: 'Deny' as const, Action: s.Action,
      Resource: s.Resource.flatMap((r) => consolePrefixDenyResources(r, thingNamePrefix)) }))
    .filter((s) => s.Resource.length > 0);
  return [...allow, ...deny];
}

// IAM's quota on a role's inline policies, all of them together, whitespace not counted
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html, the character
// quotas, "For inline policies"; not adjustable). CloudFormation would find out only in the middle
// of a deployment (PutRolePolicy: LimitExceeded).
export const IAM_ROLE_POLICY_SIZE_LIMIT = 10240;

/** The size of a policy document as IAM counts it: its JSON without whitespace. */
export function iamPolicySize(document: unknown): number {
  return JSON.stringify(document).replace(/\s/g, '').length;
}
