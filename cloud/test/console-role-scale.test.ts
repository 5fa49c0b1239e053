// The browser role at fleet size (docs/scaling.md, "Limits seen on the way"): IAM caps a role's
// inline policies at 10,240 characters, whitespace not counted
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html). Naming every thing
// costs ~390 characters per AMR, so without thingNamePrefix the synth must refuse a fleet that does
// not fit instead of leaving it to CloudFormation; with the prefix the role is one wildcard per
// resource, whatever the fleet's size, and allows no topic the per-thing role would refuse to a
// thing with that prefix.
import { strict as assert } from 'assert';
import { describe, it } from 'node:test';
import { Template } from 'aws-cdk-lib/assertions';
import { cleanup, synth } from './synth';

const ARN = 'arn:aws:iot:ap-northeast-1:123456789012:';
const things = (n: number) => Array.from({ length: n }, (_, i) => `AMR-${String(i + 1).padStart(5, '0')}`);

interface Statement { Effect: string; Action: string | string[]; Resource: string | string[] }
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

// The browser role's inline policies as deployed, and their size as IAM counts it.
function browserRole(t: Template): { statements: Statement[]; size: number } {
  const roles = Object.entries(t.findResources('AWS::IAM::Role'))
    .filter(([, r]) => JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('cognito-identity.amazonaws.com'));
  assert.equal(roles.length, 1);
  const [id, role] = roles[0];
  // Every inline policy of the role counts towards the limit, including AWS::IAM::Policy resources
  // attached to it: there are none, so the role's own Policies are all of it.
  const attached = Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles ?? []).includes(`"${id}"`));
  assert.deepEqual(attached, []);
  const docs = (role.Properties.Policies ?? []).map((p: { PolicyDocument: unknown }) => p.PolicyDocument);
  return {
    statements: docs.flatMap((d: { Statement: Statement[] }) => d.Statement),
    size: docs.map((d: unknown) => JSON.stringify(d).replace(/\s/g, '').length).reduce((a: number, b: number) => a + b, 0),
  };
}

function synthRole(overrides: Record<string, unknown>) {
  const s = synth(overrides);
  try {
    assert.equal(s.error, undefined, String(s.error));
    return browserRole(s.gateway);
  } finally {
    cleanup(s);
  }
}

// A synth expected to throw; should it succeed, its output is removed all the same.
function synthFails(overrides: Record<string, unknown>): void {
  cleanup(synth(overrides));
}

const resourcesOf = (statements: Statement[], effect: string, action: string) => statements
  .filter((st) => st.Effect === effect && list(st.Action).includes(action)).flatMap((st) => list(st.Resource)).sort();

// IAM's resource matching: `*` any run of characters ('/' included), `?` one character, the rest literal.
function iamMatches(pattern: string, value: string): boolean {
  const re = pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))).join('');
  return new RegExp(`^${re}$`).test(value);
}
const allowed = (statements: Statement[], action: string, topic: string) =>
  resourcesOf(statements, 'Allow', action).some((r) => iamMatches(r, `${ARN}topic/${topic}`))
  && !resourcesOf(statements, 'Deny', action).some((r) => iamMatches(r, `${ARN}topic/${topic}`));

describe('browser role size without thingNamePrefix', () => {
  it('refuses 1,000 things at synth, saying how many, the size, the limit and what to set', () => {
    assert.throws(() => synthFails({ thingNames: things(1000) }), (e: Error) => {
      assert.match(e.message, /1,?000 things/);
      assert.match(e.message, /[0-9,]{6,} characters/);
      assert.match(e.message, /10,?240/);
      assert.match(e.message, /thingNamePrefix/);
      return true;
    });
  });
  it('states the size the deployed role would have (measured on synthesized templates that fit)', () => {
    // Same-length names: each thing adds the same characters, so two templates that fit give the
    // size of one that does not. From two things on: with one thing, a statement naming one
    // resource (the watch message) is rendered as a string instead of a list, 2 characters less.
    const two = synthRole({ thingNames: things(2) }).size;
    const three = synthRole({ thingNames: things(3) }).size;
    const n = 40;
    const expected = two + (n - 2) * (three - two);
    assert.ok(expected > 10240);
    assert.throws(() => synthFails({ thingNames: things(n) }),
      (e: Error) => e.message.includes(`${expected.toLocaleString('en-US')} characters`) && e.message.includes(`${n} things`));
  });
  it('still synthesizes the largest fleet that fits, naming each thing', () => {
    const two = synthRole({ thingNames: things(2) }).size;
    const three = synthRole({ thingNames: things(3) }).size;
    const fits = Math.floor((10240 - two) / (three - two)) + 2;
    const role = synthRole({ thingNames: things(fits) });
    assert.ok(role.size <= 10240, `${role.size}`);
    // Per thing: its call, its shadow GET and its watch message (the only retained one).
    assert.equal(resourcesOf(role.statements, 'Allow', 'iot:Publish').length, 3 * fits);
    assert.equal(resourcesOf(role.statements, 'Allow', 'iot:RetainPublish').length, fits);
    assert.throws(() => synthFails({ thingNames: things(fits + 1) }), /thingNamePrefix/);
  });
});

describe('browser role: the watch message (docs/watched-heartbeat.md)', () => {
  it('allows Publish and RetainPublish on amr/<thing>/watch of each configured thing, and no other retained publish', () => {
    const role = synthRole({ thingNames: ['AMR-001', 'AMR-002'] });
    assert.deepEqual(resourcesOf(role.statements, 'Allow', 'iot:RetainPublish'),
      [`${ARN}topic/amr/AMR-001/watch`, `${ARN}topic/amr/AMR-002/watch`]);
    for (const t of ['AMR-001', 'AMR-002']) assert.ok(allowed(role.statements, 'iot:Publish', `amr/${t}/watch`), t);
    for (const topic of ['amr/AMR-003/watch', 'amr/AMR-001/x/watch', 'amr/AMR-001/watch/x', 'amr/AMR-001/cmd/call',
      'amr/AMR-001/heartbeat', 'amr/AMR-001/status']) {
      assert.ok(!allowed(role.statements, 'iot:RetainPublish', topic), topic);
    }
    // RetainPublish never comes without Publish on the same resources (AWS checks both for a retained PUBLISH).
    const retain = role.statements.filter((st) => list(st.Action).includes('iot:RetainPublish'));
    assert.ok(retain.length > 0 && retain.every((st) => list(st.Action).includes('iot:Publish')));
  });
});

describe('browser role with thingNamePrefix', () => {
  it('names the prefix with a wildcard instead of each thing; connect and subscribe unchanged', () => {
    const role = synthRole({ thingNamePrefix: 'AMR-', thingNames: ['AMR-001', 'AMR-002'] });
    assert.deepEqual(resourcesOf(role.statements, 'Allow', 'iot:Receive'), [
      `${ARN}topic/$aws/events/presence/*/AMR-*`,
      `${ARN}topic/$aws/things/AMR-*/shadow/name/robot/*`,
      `${ARN}topic/amr/AMR-*/*`,
    ]);
    assert.deepEqual(resourcesOf(role.statements, 'Allow', 'iot:Publish'), [
      `${ARN}topic/$aws/things/AMR-*/shadow/name/robot/get`,
      `${ARN}topic/amr/AMR-*/cmd/call`,
      `${ARN}topic/amr/AMR-*/watch`,
    ]);
    // `*` matches '/' too: the deny takes back the deeper topics a per-thing ARN never allowed.
    assert.deepEqual(resourcesOf(role.statements, 'Deny', 'iot:Publish'), [
      `${ARN}topic/$aws/things/AMR-*/*/shadow/name/robot/get`,
      `${ARN}topic/amr/AMR-*/*/cmd/call`,
      `${ARN}topic/amr/AMR-*/*/watch`,
    ]);
    // The watch message (docs/watched-heartbeat.md) is the only retained publish.
    assert.deepEqual(resourcesOf(role.statements, 'Allow', 'iot:RetainPublish'), [`${ARN}topic/amr/AMR-*/watch`]);
    assert.deepEqual(resourcesOf(role.statements, 'Deny', 'iot:RetainPublish'), [`${ARN}topic/amr/AMR-*/*/watch`]);
    assert.deepEqual(resourcesOf(role.statements, 'Allow', 'iot:Connect'),
      [`${ARN}client/console-\${cognito-identity.amazonaws.com:sub}-*`]);
    assert.equal(resourcesOf(role.statements, 'Allow', 'iot:Subscribe').length, 8);
    assert.deepEqual(role.statements.map((st) => st.Effect).filter((e) => e !== 'Allow' && e !== 'Deny'), []);
  });
  it('publishes to exactly the topics the per-thing role allows, for things with the prefix', () => {
    const perThing = synthRole({ thingNames: ['AMR-1', 'AMR-', 'AMR-2'] }).statements;
    const prefixed = synthRole({ thingNamePrefix: 'AMR-', thingNames: ['AMR-1'] }).statements;
    const topics = ['AMR-1', 'AMR-', 'AMR-1/AMR-2', 'AMR-1/x', 'X-1', 'x/AMR-1'].flatMap((t) => [
      `amr/${t}/cmd/call`, `amr/${t}/x/cmd/call`, `amr/${t}/cmd/call/x`, `amr/${t}/status`, `amr/${t}/cmd/result`,
      `amr/${t}/cmd/x/cmd/call`, `$aws/things/${t}/shadow/name/robot/get`, `$aws/things/${t}/x/shadow/name/robot/get`,
      `$aws/things/${t}/shadow/name/robot/get/accepted`, `$aws/things/${t}/shadow/name/other/get`,
      `$aws/things/${t}/shadow/name/robot/update`, `amr/${t}/watch`, `amr/${t}/x/watch`, `amr/${t}/watch/x`,
      `amr/${t}/heartbeat`,
    ]);
    const allowedPerThing = topics.filter((t) => allowed(perThing, 'iot:Publish', t));
    assert.deepEqual(topics.filter((t) => allowed(prefixed, 'iot:Publish', t)), allowedPerThing);
    assert.deepEqual(allowedPerThing.sort(), ['$aws/things/AMR-/shadow/name/robot/get', '$aws/things/AMR-1/shadow/name/robot/get',
      'amr/AMR-/cmd/call', 'amr/AMR-/watch', 'amr/AMR-1/cmd/call', 'amr/AMR-1/watch']);
    // Retained: only the watch message, the same with or without the prefix.
    const retainedPerThing = topics.filter((t) => allowed(perThing, 'iot:RetainPublish', t));
    assert.deepEqual(topics.filter((t) => allowed(prefixed, 'iot:RetainPublish', t)), retainedPerThing);
    assert.deepEqual(retainedPerThing.sort(), ['amr/AMR-/watch', 'amr/AMR-1/watch']);
  });
  it('refuses a configured thing without the prefix at synth, naming it', () => {
    assert.throws(() => synthFails({ thingNamePrefix: 'AMR-', thingNames: ['AMR-001', 'robot-7'] }),
      /"thingNames\[1\]" \("robot-7"\) does not start with thingNamePrefix "AMR-"/);
  });
  it('keeps the role\'s size constant and small at 10,000 things', () => {
    const small = synthRole({ thingNamePrefix: 'AMR-', thingNames: things(1) });
    const large = synthRole({ thingNamePrefix: 'AMR-', thingNames: things(10000) });
    assert.equal(large.size, small.size);
    assert.ok(large.size < 2500, `${large.size} characters`);
  });
});
