// The console-policy reconciler (lambda/console-policy.ts) against mocked Cognito and IoT clients.
import { strict as assert } from 'assert';
import { describe, it } from 'node:test';
import { ConsolePolicyPorts, Identity, isIdentityId, reconcileConsolePolicy } from '../lambda/console-policy';

const PROVIDER = 'cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_AbCdEf123';
const ID1 = 'ap-northeast-1:11111111-2222-3333-4444-555555555555';
const ID2 = 'ap-northeast-1:66666666-7777-8888-9999-000000000000';
const CERT = 'arn:aws:iot:ap-northeast-1:123456789012:cert/' + 'a'.repeat(64);

class Fake implements ConsolePolicyPorts {
  targets: string[];
  ops: string[] = [];
  constructor(public identities: Identity[], targets: string[]) { this.targets = [...targets]; }
  async listIdentities(pool: string) { assert.equal(pool, 'POOL'); return this.identities; }
  async listTargetsForPolicy(policy: string) { assert.equal(policy, 'console'); return [...this.targets]; }
  async attachPolicy(policy: string, target: string) { this.ops.push(`attach ${policy} ${target}`); this.targets.push(target); }
  async detachPolicy(policy: string, target: string) {
    this.ops.push(`detach ${policy} ${target}`);
    this.targets = this.targets.filter((t) => t !== target);
  }
}

describe('console policy reconciler', () => {
  it('attaches console to signed-in identities of the user pool, once', async () => {
    const f = new Fake([{ identityId: ID1, logins: [PROVIDER] }], []);
    assert.deepEqual((await reconcileConsolePolicy('POOL', PROVIDER, 'console', f)).attached, [ID1]);
    assert.deepEqual((await reconcileConsolePolicy('POOL', PROVIDER, 'console', f)).attached, []);
    assert.deepEqual(f.ops, [`attach console ${ID1}`]);
  });
  it('ignores identities without a login from this user pool', async () => {
    const f = new Fake([{ identityId: ID1, logins: [] }, { identityId: ID2, logins: ['accounts.google.com'] }], []);
    await reconcileConsolePolicy('POOL', PROVIDER, 'console', f);
    assert.deepEqual(f.ops, []);
  });
  it('detaches from identities that left the pool, never from certificates', async () => {
    const f = new Fake([{ identityId: ID1, logins: [PROVIDER] }], [ID1, ID2, CERT]);
    const r = await reconcileConsolePolicy('POOL', PROVIDER, 'console', f);
    assert.deepEqual(r, { attached: [], detached: [ID2], kept: [ID1] });
    assert.ok(f.targets.includes(CERT));
  });
  it('recognises identity ids only', () => {
    assert.ok(isIdentityId(ID1));
    assert.ok(!isIdentityId(CERT));
    assert.ok(!isIdentityId('console-x'));
  });
});
