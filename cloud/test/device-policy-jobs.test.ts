// The device policy (cloud/policies/device.json) and the AWS IoT Jobs MQTT API: a gateway may
// publish, subscribe and receive its own thing's jobs topics, exactly those the jobs processor
// uses (plugins/jobs/sample.toml, docs/aws-iot-core.md section 10), and none of another thing's.
// The evaluation follows AWS's rules as localcore's evaluator implements them
// (localcore/lib/policy.hpp; docs/aws-iot-core.md section 2.2): default deny, a Deny wins, `*`
// matches any run of characters including '/', `?` one character, MQTT's `+` and `#` are plain
// characters in a resource, and ${iot:Connection.Thing.ThingName} is the connected thing's name.
import { strict as assert } from 'assert';
import { describe, it } from 'node:test';
import { loadIotPolicy, PolicyDocument } from '../lib/policy-files';

const REGION = 'ap-northeast-1';
const ACCOUNT = '123456789012';
const ARN = `arn:aws:iot:${REGION}:${ACCOUNT}:`;

function wildcard(pattern: string, text: string): boolean {
  const re = pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&'))).join('');
  return new RegExp(`^${re}$`, 's').test(text);
}

/** Whether `thing`'s connection may do `action` on `resource` (an ARN), by the policy document. */
function allowed(doc: PolicyDocument, thing: string, action: string, resource: string): boolean {
  const matches = (effect: 'Allow' | 'Deny') => doc.Statement.some((st) => st.Effect === effect
    && st.Action.some((a) => wildcard(a, action))
    // A literal `${iot:Connection.Thing.ThingName}` is replaced before matching; the thing's name
    // itself is literal text (thing names have none of `*` `?`).
    && st.Resource.some((r) => wildcard(r.split('${iot:Connection.Thing.ThingName}').join(thing), resource))
    && (st.Condition === undefined
      || JSON.stringify(st.Condition) === JSON.stringify({ Bool: { 'iot:Connection.Thing.IsAttached': 'true' } })));
  return !matches('Deny') && matches('Allow');
}

const device = loadIotPolicy('device', REGION, ACCOUNT);
const topic = (t: string) => `${ARN}topic/${t}`;
const filter = (f: string) => `${ARN}topicfilter/${f}`;

// What the gateway's jobs processor does as AMR-001 (plugins/jobs/sample.toml and its requests).
const jobs = (thing: string) => ({
  subscribe: [
    `$aws/things/${thing}/jobs/notify-next`, `$aws/things/${thing}/jobs/start-next/+`,
    `$aws/things/${thing}/jobs/+/update/+`, `$aws/things/${thing}/jobs/+/get/+`,
    // The rest of the Jobs MQTT API, should a later gateway use it.
    `$aws/things/${thing}/jobs/notify`, `$aws/things/${thing}/jobs/get/+`, `$aws/things/${thing}/jobs/#`,
  ],
  publish: [
    `$aws/things/${thing}/jobs/start-next`, `$aws/things/${thing}/jobs/get`,
    `$aws/things/${thing}/jobs/package-0_2_0-20261206T080000/update`, `$aws/things/${thing}/jobs/health-1/get`,
  ],
  receive: [
    `$aws/things/${thing}/jobs/notify-next`, `$aws/things/${thing}/jobs/notify`,
    `$aws/things/${thing}/jobs/start-next/accepted`, `$aws/things/${thing}/jobs/start-next/rejected`,
    `$aws/things/${thing}/jobs/health-1/update/accepted`, `$aws/things/${thing}/jobs/health-1/update/rejected`,
    `$aws/things/${thing}/jobs/health-1/get/accepted`, `$aws/things/${thing}/jobs/get/accepted`,
  ],
});

describe('device policy and the Jobs MQTT API', () => {
  it('the evaluator follows AWS\'s wildcard rules (sanity)', () => {
    assert.ok(wildcard('a/*', 'a/b/c'));
    assert.ok(!wildcard('a/*', 'ab/c'));
    assert.ok(wildcard('a/?', 'a/b'));
    assert.ok(!wildcard('a/+', 'a/b'), '+ is literal');
    assert.ok(wildcard('a/+', 'a/+'));
  });
  it('AMR-001 connects only as AMR-001', () => {
    assert.ok(allowed(device, 'AMR-001', 'iot:Connect', `${ARN}client/AMR-001`));
    assert.ok(!allowed(device, 'AMR-001', 'iot:Connect', `${ARN}client/AMR-002`));
  });
  it('AMR-001 may subscribe, publish and receive its own jobs topics', () => {
    const own = jobs('AMR-001');
    for (const f of own.subscribe) assert.ok(allowed(device, 'AMR-001', 'iot:Subscribe', filter(f)), `subscribe ${f}`);
    for (const t of own.publish) assert.ok(allowed(device, 'AMR-001', 'iot:Publish', topic(t)), `publish ${t}`);
    for (const t of own.receive) assert.ok(allowed(device, 'AMR-001', 'iot:Receive', topic(t)), `receive ${t}`);
  });
  it('AMR-001 may not touch another thing\'s jobs, nor one whose name merely starts with its own', () => {
    for (const other of ['AMR-002', 'AMR-0011', 'AMR-00', 'amr-001']) {
      const theirs = jobs(other);
      for (const f of theirs.subscribe) assert.ok(!allowed(device, 'AMR-001', 'iot:Subscribe', filter(f)), `subscribe ${f}`);
      for (const t of theirs.publish) assert.ok(!allowed(device, 'AMR-001', 'iot:Publish', topic(t)), `publish ${t}`);
      for (const t of theirs.receive) assert.ok(!allowed(device, 'AMR-001', 'iot:Receive', topic(t)), `receive ${t}`);
    }
  });
  it('AMR-001 may not subscribe to every thing\'s jobs with a wildcard filter', () => {
    for (const f of ['$aws/things/+/jobs/notify-next', '$aws/things/#', '$aws/things/+/jobs/#', '#', '$aws/#']) {
      assert.ok(!allowed(device, 'AMR-001', 'iot:Subscribe', filter(f)), f);
    }
  });
  it('what the policy allows besides jobs under $aws/things/<thing>/ is the thing\'s own too (shadows)', () => {
    assert.ok(allowed(device, 'AMR-001', 'iot:Publish', topic('$aws/things/AMR-001/shadow/name/robot/update')));
    assert.ok(!allowed(device, 'AMR-001', 'iot:Publish', topic('$aws/things/AMR-002/shadow/name/robot/update')));
  });
  it('no other statement of device.json names $aws/ topics (the jobs topics come only from the thing\'s own prefix)', () => {
    const aws = device.Statement.flatMap((st) => st.Resource).filter((r) => r.includes('$aws/'));
    assert.deepEqual(aws.sort(), [
      `${ARN}topic/$aws/things/\${iot:Connection.Thing.ThingName}/*`,
      `${ARN}topicfilter/$aws/things/\${iot:Connection.Thing.ThingName}/*`,
    ]);
  });
});
