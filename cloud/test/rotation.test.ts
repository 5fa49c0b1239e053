// The rotation step's logic (lambda/rotation.ts) against a mocked IoT client: the same checks and
// replies as localcore (localcore/lib/rotation.cpp, cloud/provisioning/README.md), and above all:
// a device retires only certificates attached to its own thing, and "already done" is the answer
// only for a certificate its own thing's rotation retired (no oracle on other certificates).
import { strict as assert } from 'assert';
import { after, describe, it } from 'node:test';
import { handleRotation, IotPort } from '../lambda/rotation';
import { cleanup, synth } from './synth';

const NEW = 'a'.repeat(64);
const OLD = 'b'.repeat(64);
const OTHER = 'c'.repeat(64);
const arn = (id: string) => `arn:aws:iot:ap-northeast-1:123456789012:cert/${id}`;

interface Cert { status: string; things: string[] }
class FakeIot implements IotPort {
  calls: string[] = [];
  published: { topic: string; payload: Record<string, unknown> }[] = [];
  /** certificate id -> the thing whose rotation retired it (the DynamoDB table). */
  retired: Record<string, string> = {};
  failOn?: string;
  constructor(public certs: Record<string, Cert>) {}
  private step(name: string) {
    this.calls.push(name);
    if (this.failOn && name.startsWith(this.failOn)) throw new Error(`${this.failOn} failed`);
  }
  async describeCertificate(id: string) {
    this.step(`describe ${id.slice(0, 1)}`);
    const c = this.certs[id];
    return c ? { arn: arn(id), status: c.status } : undefined;
  }
  async listThingPrincipals(thing: string) {
    this.step(`principals ${thing}`);
    return Object.entries(this.certs).filter(([, c]) => c.things.includes(thing)).map(([id]) => arn(id));
  }
  async listPrincipalThings(principal: string) {
    this.step('things');
    return this.certs[principal.split('/')[1]].things;
  }
  async deactivateCertificate(id: string) {
    this.step(`deactivate ${id.slice(0, 1)}`);
    this.certs[id].status = 'INACTIVE';
  }
  async detachThingPrincipal(thing: string, principal: string) {
    this.step(`detach ${thing}`);
    const c = this.certs[principal.split('/')[1]];
    c.things = c.things.filter((t) => t !== thing);
  }
  async recordRetirement(id: string, thing: string) {
    this.step(`record ${id.slice(0, 1)} ${thing}`);
    this.retired[id] = thing;
  }
  async retiredBy(id: string) {
    this.step(`retiredBy ${id.slice(0, 1)}`);
    return this.retired[id];
  }
  async publish(topic: string, payload: string) {
    this.published.push({ topic, payload: JSON.parse(payload) });
  }
}

const OTHER_NEW = 'e'.repeat(64);
const healthy = () => new FakeIot({
  [NEW]: { status: 'ACTIVE', things: ['AMR-001'] },
  [OLD]: { status: 'ACTIVE', things: ['AMR-001'] },
  [OTHER]: { status: 'ACTIVE', things: ['AMR-002'] },
  [OTHER_NEW]: { status: 'ACTIVE', things: ['AMR-002'] },
});
const changes = (iot: FakeIot) =>
  iot.calls.filter((c) => c.startsWith('deactivate') || c.startsWith('record') || c.startsWith('detach'));
const event = (over: Record<string, unknown> = {}) =>
  ({ thingName: 'AMR-001', principal: NEW, oldCertificateId: OLD, clientToken: '0123456789abcdef', ...over });

describe('rotation Lambda', () => {
  it('deactivates and detaches the old certificate of the reporting thing, and answers accepted', async () => {
    const iot = healthy();
    const reply = await handleRotation(event(), iot);
    assert.deepEqual(reply, {
      topic: 'amr/AMR-001/certificate/rotated/accepted',
      payload: { oldCertificateId: OLD, newCertificateId: NEW, status: 'INACTIVE', clientToken: '0123456789abcdef' },
    });
    assert.deepEqual(iot.certs[OLD], { status: 'INACTIVE', things: [] });
    assert.deepEqual(iot.certs[NEW], { status: 'ACTIVE', things: ['AMR-001'] });
    assert.deepEqual(iot.published, [reply]);
    assert.deepEqual(iot.retired, { [OLD]: 'AMR-001' });
    assert.deepEqual(changes(iot), ['deactivate b', 'record b AMR-001', 'detach AMR-001'],
      'deactivate, then record, then detach');
  });

  it('accepts upper-case ids and answers in lower case, as localcore', async () => {
    const iot = healthy();
    const reply = await handleRotation(event({ oldCertificateId: OLD.toUpperCase() }), iot);
    assert.equal(reply?.payload.oldCertificateId, OLD);
    assert.equal(iot.certs[OLD].status, 'INACTIVE');
  });

  it('refuses a certificate of another thing (403) and changes nothing', async () => {
    const iot = healthy();
    const reply = await handleRotation(event({ oldCertificateId: OTHER }), iot);
    assert.equal(reply?.topic, 'amr/AMR-001/certificate/rotated/rejected');
    assert.equal(reply?.payload.code, 403);
    assert.match(String(reply?.payload.message), /can only retire its own certificates/);
    assert.deepEqual(iot.certs[OTHER], { status: 'ACTIVE', things: ['AMR-002'] });
    assert.ok(!iot.calls.some((c) => c.startsWith('deactivate') || c.startsWith('detach')));
  });

  it('refuses when the connection\'s own certificate is not attached to the thing (403)', async () => {
    const iot = healthy();
    iot.certs[NEW].things = ['AMR-002'];
    const reply = await handleRotation(event(), iot);
    assert.equal(reply?.payload.code, 403);
    assert.match(String(reply?.payload.message), /not attached to thing 'AMR-001'/);
    assert.equal(iot.certs[OLD].status, 'ACTIVE');
  });

  it('refuses when the connection\'s certificate is not ACTIVE (403)', async () => {
    const iot = healthy();
    iot.certs[NEW].status = 'INACTIVE';
    assert.equal((await handleRotation(event(), iot))?.payload.code, 403);
    assert.equal(iot.certs[OLD].status, 'ACTIVE');
  });

  it('refuses a connection without a certificate principal (e.g. a Cognito identity) (403)', async () => {
    const iot = healthy();
    const reply = await handleRotation(event({ principal: 'ap-northeast-1:11111111-2222-3333-4444-555555555555' }), iot);
    assert.equal(reply?.payload.code, 403);
    assert.deepEqual(iot.calls, []);
  });

  for (const [name, over, code] of [
    ['a missing oldCertificateId', { oldCertificateId: undefined }, 400],
    ['an oldCertificateId that is not 64 hex', { oldCertificateId: 'xyz' }, 400],
    ['old == new', { oldCertificateId: NEW }, 400],
    ['a clientToken over 64 bytes', { clientToken: 'x'.repeat(65) }, 400],
    ['a clientToken that is not a string', { clientToken: 7 }, 400],
    ['an unknown old certificate', { oldCertificateId: 'd'.repeat(64) }, 404],
  ] as const) {
    it(`answers ${code} for ${name}`, async () => {
      const iot = healthy();
      const reply = await handleRotation(event(over as Record<string, unknown>), iot);
      assert.equal(reply?.topic, 'amr/AMR-001/certificate/rotated/rejected');
      assert.equal(reply?.payload.code, code);
      assert.equal(iot.certs[OLD].status, 'ACTIVE');
    });
  }

  it('answers 409 for a REVOKED old certificate and leaves it REVOKED', async () => {
    const iot = healthy();
    iot.certs[OLD].status = 'REVOKED';
    assert.equal((await handleRotation(event(), iot))?.payload.code, 409);
    assert.equal(iot.certs[OLD].status, 'REVOKED');
  });

  it('accepts the retry of its own rotation after a lost reply, without changes', async () => {
    const iot = healthy();
    const first = await handleRotation(event(), iot);
    iot.calls = [];
    const retry = await handleRotation(event(), iot);
    assert.deepEqual(retry, first);
    assert.deepEqual(changes(iot), []);
    assert.deepEqual(iot.certs[OLD], { status: 'INACTIVE', things: [] });
  });

  it('does not report another thing\'s retired certificate as done (403, the same answer as attached elsewhere)',
    async () => {
      const iot = healthy();
      const attachedElsewhere = await handleRotation(event({ oldCertificateId: OTHER }), iot);
      // AMR-002 retires OTHER by its own rotation.
      const theirs = await handleRotation({ thingName: 'AMR-002', principal: OTHER_NEW, oldCertificateId: OTHER }, iot);
      assert.equal(theirs?.topic, 'amr/AMR-002/certificate/rotated/accepted');
      assert.deepEqual(iot.certs[OTHER], { status: 'INACTIVE', things: [] });
      iot.calls = [];
      const probe = await handleRotation(event({ oldCertificateId: OTHER }), iot);
      assert.equal(probe?.topic, 'amr/AMR-001/certificate/rotated/rejected');
      assert.equal(probe?.payload.code, 403);
      assert.deepEqual(probe, attachedElsewhere, 'a probe must not tell a retired certificate from an attached one');
      assert.deepEqual(changes(iot), []);
      assert.deepEqual(iot.retired, { [OTHER]: 'AMR-002' });
    });

  it('does not report a certificate retired outside a rotation as done (403)', async () => {
    const iot = healthy();
    // An operator deactivated and detached it (update-certificate, detach-thing-principal).
    iot.certs[OLD] = { status: 'INACTIVE', things: [] };
    const reply = await handleRotation(event(), iot);
    assert.equal(reply?.topic, 'amr/AMR-001/certificate/rotated/rejected');
    assert.equal(reply?.payload.code, 403);
    assert.match(String(reply?.payload.message), /is not attached to thing 'AMR-001'; a device can only retire its own/);
    assert.deepEqual(changes(iot), []);
  });

  it('completes the detach on a retry after a failure between deactivate and detach', async () => {
    const iot = healthy();
    iot.failOn = 'detach';
    const first = await handleRotation(event(), iot);
    assert.equal(first?.payload.code, 500);
    assert.deepEqual(iot.certs[OLD], { status: 'INACTIVE', things: ['AMR-001'] });
    assert.deepEqual(iot.retired, { [OLD]: 'AMR-001' }, 'recorded before the detach');
    iot.failOn = undefined;
    const retry = await handleRotation(event(), iot);
    assert.equal(retry?.topic, 'amr/AMR-001/certificate/rotated/accepted');
    assert.deepEqual(iot.certs[OLD], { status: 'INACTIVE', things: [] });
    // And the retry of that retry (its reply lost too) is still accepted.
    assert.equal((await handleRotation(event(), iot))?.topic, 'amr/AMR-001/certificate/rotated/accepted');
  });

  it('does not detach before the record is written; the retry records and detaches', async () => {
    const iot = healthy();
    iot.failOn = 'record';
    const first = await handleRotation(event(), iot);
    assert.equal(first?.payload.code, 500);
    assert.deepEqual(iot.certs[OLD], { status: 'INACTIVE', things: ['AMR-001'] }, 'still attached: no detach');
    assert.deepEqual(iot.retired, {});
    iot.failOn = undefined;
    const retry = await handleRotation(event(), iot);
    assert.equal(retry?.topic, 'amr/AMR-001/certificate/rotated/accepted');
    assert.deepEqual(iot.certs[OLD], { status: 'INACTIVE', things: [] });
    assert.deepEqual(iot.retired, { [OLD]: 'AMR-001' });
  });

  it('omits clientToken when the report has none', async () => {
    const reply = await handleRotation(event({ clientToken: undefined }), healthy());
    assert.ok(!('clientToken' in (reply?.payload ?? {})) || reply?.payload.clientToken === undefined);
  });

  it('drops an event without a valid thing name (no topic to answer on)', async () => {
    const iot = healthy();
    assert.equal(await handleRotation(event({ thingName: 'a/b' }), iot), undefined);
    assert.deepEqual(iot.published, []);
  });
});

describe('rotation Lambda deployment (cloud/lib/iot.ts)', () => {
  const s = synth();
  after(() => cleanup(s));
  const all = () => s.gateway.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
  const idOf = (type: string, pred: (p: Record<string, any>) => boolean = () => true) =>
    Object.keys(all()).filter((id) => all()[id].Type === type && pred(all()[id].Properties));

  it('has a table of retired certificates: key certificateId, TTL expiresAt, point-in-time recovery', () => {
    assert.equal(s.error, undefined, String(s.error));
    const tables = idOf('AWS::DynamoDB::Table');
    assert.equal(tables.length, 1);
    const t = all()[tables[0]].Properties;
    assert.deepEqual(t.KeySchema, [{ AttributeName: 'certificateId', KeyType: 'HASH' }]);
    assert.deepEqual(t.TimeToLiveSpecification, { AttributeName: 'expiresAt', Enabled: true });
    assert.equal(t.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled, true);
  });

  it('may only get and put items of that table, besides its IoT actions (least privilege)', () => {
    const [fnId] = idOf('AWS::Lambda::Function', (p) => p.Handler === 'rotation-handler.handler');
    const fn = all()[fnId].Properties;
    const [tableId] = idOf('AWS::DynamoDB::Table');
    assert.deepEqual(fn.Environment.Variables.RETIRED_CERTIFICATES_TABLE, { Ref: tableId });
    const roleId = fn.Role['Fn::GetAtt'][0];
    const policies = idOf('AWS::IAM::Policy', (p) => JSON.stringify(p.Roles) === JSON.stringify([{ Ref: roleId }]));
    assert.equal(policies.length, 1);
    const statements = all()[policies[0]].Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[];
    const iot = 'arn:aws:iot:ap-northeast-1:123456789012';
    const byAction = statements.map((st) => [[st.Action].flat().sort().join(' '), st.Resource]);
    assert.deepEqual(byAction.filter(([a]) => !String(a).startsWith('logs:')), [
      ['iot:DescribeCertificate iot:ListPrincipalThings iot:UpdateCertificate', `${iot}:cert/*`],
      ['iot:DetachThingPrincipal iot:ListThingPrincipals', `${iot}:thing/*`],
      ['dynamodb:GetItem dynamodb:PutItem', { 'Fn::GetAtt': [tableId, 'Arn'] }],
      ['iot:Publish', `${iot}:topic/amr/*/certificate/rotated/*`],
    ]);
  });
});
