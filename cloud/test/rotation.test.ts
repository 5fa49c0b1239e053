// The rotation step's logic (lambda/rotation.ts) against a mocked IoT client: the same checks and
// replies as localcore (localcore/lib/rotation.cpp, cloud/provisioning/README.md), and above all:
// a device retires only certificates attached to its own thing.
import { strict as assert } from 'assert';
import { describe, it } from 'node:test';
import { handleRotation, IotPort } from '../lambda/rotation';

const NEW = 'a'.repeat(64);
const OLD = 'b'.repeat(64);
const OTHER = 'c'.repeat(64);
const arn = (id: string) => `arn:aws:iot:ap-northeast-1:123456789012:cert/${id}`;

interface Cert { status: string; things: string[] }
class FakeIot implements IotPort {
  calls: string[] = [];
  published: { topic: string; payload: Record<string, unknown> }[] = [];
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
  async publish(topic: string, payload: string) {
    this.published.push({ topic, payload: JSON.parse(payload) });
  }
}

const healthy = () => new FakeIot({
  [NEW]: { status: 'ACTIVE', things: ['AMR-001'] },
  [OLD]: { status: 'ACTIVE', things: ['AMR-001'] },
  [OTHER]: { status: 'ACTIVE', things: ['AMR-002'] },
});
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
    assert.ok(iot.calls.indexOf('deactivate b') < iot.calls.indexOf('detach AMR-001'), 'deactivate before detach');
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

  it('accepts a retry after a lost reply (old already INACTIVE and detached) without changes', async () => {
    const iot = healthy();
    iot.certs[OLD] = { status: 'INACTIVE', things: [] };
    const reply = await handleRotation(event(), iot);
    assert.equal(reply?.topic, 'amr/AMR-001/certificate/rotated/accepted');
    assert.ok(!iot.calls.some((c) => c.startsWith('deactivate') || c.startsWith('detach')));
  });

  it('completes the detach on a retry after a failure between deactivate and detach', async () => {
    const iot = healthy();
    iot.failOn = 'detach';
    const first = await handleRotation(event(), iot);
    assert.equal(first?.payload.code, 500);
    assert.deepEqual(iot.certs[OLD], { status: 'INACTIVE', things: ['AMR-001'] });
    iot.failOn = undefined;
    const retry = await handleRotation(event(), iot);
    assert.equal(retry?.topic, 'amr/AMR-001/certificate/rotated/accepted');
    assert.deepEqual(iot.certs[OLD], { status: 'INACTIVE', things: [] });
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
