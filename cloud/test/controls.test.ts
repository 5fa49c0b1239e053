// One assertion group per control of the seed's tables (必須セキュリティコントロール, 脆弱性一覧),
// on the synthesized templates (full parameters; the minimal set is covered by nag.test.ts).
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { after, describe, it } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { cleanup, synth } from './synth';
import { loadIotPolicy, loadProvisioningTemplate } from '../lib/policy-files';
import { HOOK_PAYLOAD_VERSION, ROTATION_RULE_SQL } from '../lib/iot';

const s = synth();
after(() => cleanup(s));
const { gateway, edge, params } = s;
const resources = (t: typeof gateway, type: string) => Object.entries(t.findResources(type));
const json = (v: unknown) => JSON.stringify(v);

describe('synth', () => {
  it('succeeds offline with explicit environments', () => assert.equal(s.error, undefined, String(s.error)));
});

describe('Cognito (table No 1-2: passkeys, public client, fixed redirect URIs)', () => {
  it('user pool: passkey first factor, user verification required, relying party, no self sign-up', () => {
    gateway.hasResourceProperties('AWS::Cognito::UserPool', {
      Policies: Match.objectLike({ SignInPolicy: { AllowedFirstAuthFactors: Match.arrayWith(['WEB_AUTHN']) } }),
      WebAuthnRelyingPartyID: `${params.cognitoDomainPrefix}.auth.ap-northeast-1.amazoncognito.com`,
      WebAuthnUserVerification: 'required',
      AdminCreateUserConfig: Match.objectLike({ AllowAdminCreateUserOnly: true }),
    });
  });
  it('managed login (new UI) on the prefix domain, with a branding style for the client', () => {
    gateway.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: params.cognitoDomainPrefix, ManagedLoginVersion: 2 });
    gateway.resourceCountIs('AWS::Cognito::ManagedLoginBranding', 1);
  });
  it('app client: no secret, code grant only, redirect and sign-out URIs exactly the parameters', () => {
    const clients = resources(gateway, 'AWS::Cognito::UserPoolClient');
    assert.equal(clients.length, 1);
    const c = clients[0][1].Properties;
    assert.ok(!c.GenerateSecret, 'the client must be public (no secret)');
    assert.deepEqual(c.AllowedOAuthFlows, ['code']);
    assert.equal(c.AllowedOAuthFlowsUserPoolClient, true);
    assert.deepEqual(c.CallbackURLs, params.callbackUrls);
    assert.deepEqual(c.LogoutURLs, params.logoutUrls);
    assert.ok(c.AllowedOAuthScopes.includes('aws.cognito.signin.user.admin'));
    assert.ok(c.AllowedOAuthScopes.includes('openid'));
    assert.deepEqual(c.SupportedIdentityProviders, ['COGNITO']);
    assert.ok(!c.ExplicitAuthFlows.includes('ALLOW_USER_PASSWORD_AUTH'), 'no plain password API flow');
  });
  it('org-operator is created without a password and without an invitation', () => {
    const cr = resources(gateway, 'Custom::AWS').map(([, r]) => json(r.Properties.Create)).find((c) => c.includes('adminCreateUser'));
    assert.ok(cr, 'no adminCreateUser custom resource');
    assert.match(cr, /org-operator/);
    assert.match(cr, /SUPPRESS/);
    assert.doesNotMatch(cr, /TemporaryPassword/);
  });
  it('identity pool: authenticated identities of this client only', () => {
    gateway.hasResourceProperties('AWS::Cognito::IdentityPool', {
      AllowUnauthenticatedIdentities: false, AllowClassicFlow: false,
      CognitoIdentityProviders: [Match.objectLike({ ServerSideTokenCheck: true })],
    });
    const attachments = resources(gateway, 'AWS::Cognito::IdentityPoolRoleAttachment');
    assert.equal(attachments.length, 1);
    assert.deepEqual(Object.keys(attachments[0][1].Properties.Roles), ['authenticated']);
  });
});

describe('IAM browser role (appendix A, table No 3: clientId and topics scoped)', () => {
  const roles = resources(gateway, 'AWS::IAM::Role').filter(([, r]) => json(r.Properties.AssumeRolePolicyDocument).includes('cognito-identity.amazonaws.com'));
  const doc = roles[0]?.[1].Properties;
  it('trusts only authenticated identities of this pool', () => {
    assert.equal(roles.length, 1);
    const trust = json(doc.AssumeRolePolicyDocument);
    assert.match(trust, /"cognito-identity.amazonaws.com:amr":"authenticated"/);
    assert.match(trust, /cognito-identity.amazonaws.com:aud/);
  });
  const statements = (doc?.Policies ?? []).flatMap((p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument.Statement) as
    { Action: string | string[]; Resource: string | string[] }[];
  const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
  it('connects only as console-<own identity id>-*', () => {
    const connect = statements.filter((st) => list(st.Action).includes('iot:Connect'));
    assert.deepEqual(connect.flatMap((st) => list(st.Resource)),
      ['arn:aws:iot:ap-northeast-1:123456789012:client/console-${cognito-identity.amazonaws.com:sub}-*']);
  });
  it('reaches only the configured AMRs, publishes only calls, shadow gets and the watch message, no wildcard actions', () => {
    const all = statements.flatMap((st) => list(st.Action));
    assert.ok(all.every((a) => /^iot:(Connect|Publish|Subscribe|Receive|RetainPublish)$/.test(a)), all.join());
    for (const st of statements) {
      for (const r of list(st.Resource)) {
        if (r.includes(':client/')) continue;
        // Subscribing is allowed with the fleet view's wildcard filters only (each `+` a literal
        // character here: no other filter matches); what they deliver is limited per thing by
        // iot:Receive, checked just below.
        if (r.includes(':topicfilter/')) {
          assert.ok(list(st.Action).every((a) => a === 'iot:Subscribe'), `${r} is a filter outside iot:Subscribe`);
          assert.match(r, /:topicfilter\/(amr\/\+\/(status|heartbeat|cmd\/result)|\$aws\/things\/\+\/shadow\/name\/robot\/(get\/accepted|get\/rejected|update\/documents)|\$aws\/events\/presence\/(connected|disconnected)\/\+)$/);
          continue;
        }
        assert.ok(params.thingNames.some((t) => r.includes(`/${t}/`) || r.endsWith(`/${t}`)), `${r} is not scoped to a thing`);
      }
    }
    const receive = statements.filter((st) => list(st.Action).includes('iot:Receive')).flatMap((st) => list(st.Resource));
    assert.ok(receive.length > 0 && receive.every((r) => r.includes(':topic/')), receive.join());
    const publish = statements.filter((st) => list(st.Action).includes('iot:Publish')).flatMap((st) => list(st.Resource));
    assert.deepEqual(publish.sort(), [
      'arn:aws:iot:ap-northeast-1:123456789012:topic/$aws/things/AMR-001/shadow/name/robot/get',
      'arn:aws:iot:ap-northeast-1:123456789012:topic/amr/AMR-001/cmd/call',
      'arn:aws:iot:ap-northeast-1:123456789012:topic/amr/AMR-001/watch',
    ]);
    // Retained: the watch message only (docs/watched-heartbeat.md).
    const retain = statements.filter((st) => list(st.Action).includes('iot:RetainPublish')).flatMap((st) => list(st.Resource));
    assert.deepEqual(retain, ['arn:aws:iot:ap-northeast-1:123456789012:topic/amr/AMR-001/watch']);
  });
});

describe('IoT policies (appendix B/C, table No 4, 6): the files of cloud/policies, deployed as is', () => {
  for (const name of ['device', 'claim', 'console'] as const) {
    it(`${name} equals cloud/policies/${name}.json with REGION/ACCOUNT_ID substituted`, () => {
      gateway.hasResourceProperties('AWS::IoT::Policy', {
        PolicyName: name, PolicyDocument: loadIotPolicy(name, 'ap-northeast-1', '123456789012'),
      });
      const raw = fs.readFileSync(path.resolve(__dirname, '..', '..', 'policies', `${name}.json`), 'utf8');
      const expected = raw.replace(/arn:aws:iot:REGION:ACCOUNT_ID:/g, 'arn:aws:iot:ap-northeast-1:123456789012:');
      gateway.hasResourceProperties('AWS::IoT::Policy', { PolicyName: name, PolicyDocument: JSON.parse(expected) });
    });
  }
  it('device policy is confined to ${iot:Connection.Thing.ThingName}', () => {
    const doc = loadIotPolicy('device', 'ap-northeast-1', '123456789012');
    for (const st of doc.Statement) {
      for (const r of st.Resource) assert.match(r, /\$\{iot:Connection\.Thing\.ThingName\}/, r);
    }
    const connect = doc.Statement.find((st) => st.Action.includes('iot:Connect'));
    assert.deepEqual(connect?.Condition, { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } });
  });
  it('claim policy is tightened: Connect only as claim-<own CN>, no $aws/* filter, no CreateKeysAndCertificate', () => {
    const doc = loadIotPolicy('claim', 'ap-northeast-1', '123456789012');
    const resourcesOf = doc.Statement.flatMap((st) => st.Resource);
    assert.ok(!resourcesOf.includes('*'));
    assert.ok(!resourcesOf.some((r) => r.endsWith('topicfilter/$aws/*')));
    assert.ok(!resourcesOf.some((r) => r.includes('$aws/certificates/create/')));
    assert.deepEqual(doc.Statement.find((st) => st.Action.includes('iot:Connect'))?.Resource,
      // A claim certificate connects only as the claim client of the device its subject CN names.
      ['arn:aws:iot:ap-northeast-1:123456789012:client/claim-${iot:Certificate.Subject.CommonName}']);
  });
});

describe('IoT provisioning, thing type, rotation, logging (table No 5, 6, 8, 9)', () => {
  it('provisioning template amr is cloud/provisioning/amr-template.json, unchanged, with its role', () => {
    const t = resources(gateway, 'AWS::IoT::ProvisioningTemplate');
    assert.equal(t.length, 1);
    const p = t[0][1].Properties;
    assert.equal(p.TemplateName, 'amr');
    assert.equal(p.Enabled, true);
    assert.deepEqual(JSON.parse(p.TemplateBody), loadProvisioningTemplate('amr'));
    assert.ok(p.ProvisioningRoleArn);
  });
  it('thing type amr', () => gateway.hasResourceProperties('AWS::IoT::ThingType', { ThingTypeName: 'amr' }));
  it('rotation rule passes the broker-vouched thing and principal to the Lambda', () => {
    gateway.hasResourceProperties('AWS::IoT::TopicRule', {
      TopicRulePayload: Match.objectLike({ Sql: ROTATION_RULE_SQL, Actions: [Match.objectLike({ Lambda: Match.anyValue() })] }),
    });
    assert.match(ROTATION_RULE_SQL, /FROM 'amr\/\+\/certificate\/rotated'/);
    assert.match(ROTATION_RULE_SQL, /topic\(2\) AS thingName/);
    assert.match(ROTATION_RULE_SQL, /principal\(\) AS principal/);
    gateway.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'iot.amazonaws.com', SourceArn: Match.anyValue(), Action: 'lambda:InvokeFunction',
    });
  });
  it('IoT logging on, AWSIotLogsV2 with retention', () => {
    gateway.hasResourceProperties('AWS::IoT::Logging', { DefaultLogLevel: 'WARN', AccountId: '123456789012' });
    gateway.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: 'AWSIotLogsV2', RetentionInDays: params.logRetentionDays });
  });
  it('project Lambdas: latest Node.js runtime, own roles without managed policies', () => {
    const fns = resources(gateway, 'AWS::Lambda::Function')
      .filter(([, f]) => /^(rotation-handler|console-policy-handler|pre-provisioning-hook)\./.test(f.Properties.Handler));
    assert.equal(fns.length, 3);
    for (const [, f] of fns) assert.equal(f.Properties.Runtime, 'nodejs24.x');
    const roleIds = fns.map(([, f]) => f.Properties.Role['Fn::GetAtt'][0]);
    for (const id of roleIds) assert.equal(gateway.toJSON().Resources[id].Properties.ManagedPolicyArns, undefined);
  });
});

describe('Pre-provisioning hook (table No 6: a claim certificate provisions only its own device)', () => {
  const all = gateway.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: string[] }>;
  const fnId = Object.keys(all).find((id) => all[id].Type === 'AWS::Lambda::Function'
    && all[id].Properties.Handler === 'pre-provisioning-hook.handler') as string;
  const fn = all[fnId];
  const templateArn = 'arn:aws:iot:ap-northeast-1:123456789012:provisioningtemplate/amr';
  it('the template amr calls the hook Lambda, with the documented payload version', () => {
    assert.ok(fnId, 'no Lambda with handler pre-provisioning-hook.handler');
    const [templateId, template] = resources(gateway, 'AWS::IoT::ProvisioningTemplate')[0];
    assert.deepEqual(template.Properties.PreProvisioningHook, {
      TargetArn: { 'Fn::GetAtt': [fnId, 'Arn'] }, PayloadVersion: HOOK_PAYLOAD_VERSION,
    });
    assert.equal(HOOK_PAYLOAD_VERSION, '2020-04-01');
    // The permission exists before AWS IoT can invoke the hook.
    const permissionId = Object.keys(all).find((id) => all[id].Type === 'AWS::Lambda::Permission'
      && json(all[id].Properties.FunctionName).includes(fnId));
    assert.ok(all[templateId].DependsOn?.includes(permissionId as string), json(all[templateId].DependsOn));
  });
  it('only AWS IoT may invoke it, for this account\'s template amr (aws:SourceAccount, aws:SourceArn)', () => {
    const permissions = Object.values(all).filter((r) => r.Type === 'AWS::Lambda::Permission'
      && json(r.Properties.FunctionName).includes(fnId));
    assert.equal(permissions.length, 1);
    assert.deepEqual(permissions[0].Properties, {
      Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] }, Principal: 'iot.amazonaws.com',
      SourceAccount: '123456789012', SourceArn: templateArn,
    });
  });
  it('its role may only read certificates and things (and write its own log)', () => {
    const roleId = fn.Properties.Role['Fn::GetAtt'][0];
    assert.equal(all[roleId].Properties.ManagedPolicyArns, undefined);
    assert.equal(all[roleId].Properties.Policies, undefined);
    const policies = Object.values(all).filter((r) => r.Type === 'AWS::IAM::Policy' && json(r.Properties.Roles) === json([{ Ref: roleId }]));
    assert.equal(policies.length, 1);
    const statements = policies[0].Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown; Effect: string }[];
    const iotStatements = statements.filter((st) => !json(st.Action).includes('logs:'))
      .map((st) => ({ Effect: st.Effect, Action: st.Action, Resource: st.Resource }));
    assert.deepEqual(iotStatements, [
      { Effect: 'Allow', Action: 'iot:DescribeCertificate', Resource: 'arn:aws:iot:ap-northeast-1:123456789012:cert/*' },
      { Effect: 'Allow', Action: 'iot:DescribeThing', Resource: 'arn:aws:iot:ap-northeast-1:123456789012:thing/*' },
    ]);
    const logs = statements.filter((st) => json(st.Action).includes('logs:'));
    assert.equal(logs.length, 1);
    assert.deepEqual(logs[0].Action, ['logs:CreateLogStream', 'logs:PutLogEvents']);
  });
  it('per-device only by default; the fleet-wide allow-list comes from the parameters', () => {
    assert.deepEqual(fn.Properties.Environment.Variables,
      { FLEET_CLAIM_CERTIFICATE_IDS: '', METRIC_NAMESPACE: 'AmrGateway', THING_NAME_PREFIX: '' });
    const ids = ['a'.repeat(64), 'b'.repeat(64)];
    const fleet = synth({ fleetClaimCertificateIds: ids });
    try {
      fleet.gateway.hasResourceProperties('AWS::Lambda::Function', {
        Handler: 'pre-provisioning-hook.handler',
        Environment: { Variables: Match.objectLike({ FLEET_CLAIM_CERTIFICATE_IDS: ids.join(',') }) },
      });
    } finally {
      cleanup(fleet);
    }
  });
  it('enforces thingNamePrefix, the naming rule the browser role\'s <prefix>* relies on', () => {
    const prefixed = synth({ thingNamePrefix: 'AMR-' });
    try {
      prefixed.gateway.hasResourceProperties('AWS::Lambda::Function', {
        Handler: 'pre-provisioning-hook.handler',
        Environment: { Variables: Match.objectLike({ THING_NAME_PREFIX: 'AMR-' }) },
      });
    } finally {
      cleanup(prefixed);
    }
  });
  it('refusals and hook failures alarm to the alarm topic', () => {
    gateway.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'amr-provisioning-refused', Namespace: 'AmrGateway', MetricName: 'ProvisioningRefused', Statistic: 'Sum',
      Period: 300, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', AlarmActions: [Match.anyValue()],
    });
    gateway.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'amr-provisioning-hook-failures', Namespace: 'AWS/Lambda', MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }], Threshold: 1,
    });
  });
});

describe('Front end (table No 3, 7, 10: S3 private, OAC only, WAF, CSP)', () => {
  it('every bucket blocks public access and enforces TLS', () => {
    const buckets = resources(gateway, 'AWS::S3::Bucket');
    assert.ok(buckets.length >= 2);
    for (const [id, b] of buckets) {
      assert.deepEqual(b.Properties.PublicAccessBlockConfiguration, {
        BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
      }, id);
      assert.equal(b.Properties.WebsiteConfiguration, undefined, `${id} must not be a website endpoint`);
    }
    for (const [, p] of resources(gateway, 'AWS::S3::BucketPolicy')) {
      assert.ok(!json(p.Properties.PolicyDocument).includes('"Principal":"*","Action":"s3:GetObject"'));
    }
  });
  it('CloudFront reads the site through Origin Access Control only (no OAI, no public origin)', () => {
    gateway.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    gateway.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);
    const [[, d]] = resources(gateway, 'AWS::CloudFront::Distribution');
    for (const o of d.Properties.DistributionConfig.Origins) {
      assert.ok(o.OriginAccessControlId, 'origin without OAC');
      assert.equal(o.CustomOriginConfig, undefined);
    }
    const sitePolicy = resources(gateway, 'AWS::S3::BucketPolicy').map(([, p]) => json(p.Properties.PolicyDocument))
      .find((p) => p.includes('cloudfront.amazonaws.com'));
    assert.ok(sitePolicy && sitePolicy.includes('AWS:SourceArn'), 'site read must be bound to this distribution');
  });
  it('WAF web ACL attached; HTTPS only; TLS 1.2; geo allow list', () => {
    const [[, d]] = resources(gateway, 'AWS::CloudFront::Distribution');
    const c = d.Properties.DistributionConfig;
    assert.ok(c.WebACLId, 'no web ACL on the distribution');
    assert.equal(c.DefaultCacheBehavior.ViewerProtocolPolicy, 'redirect-to-https');
    assert.equal(c.ViewerCertificate.MinimumProtocolVersion, 'TLSv1.2_2021');
    assert.deepEqual(c.Restrictions.GeoRestriction, { Locations: ['JP'], RestrictionType: 'whitelist' });
  });
  it('WAF: IP allow list, rate limit and AWS managed rule groups, with logging', () => {
    const [[, acl]] = resources(edge, 'AWS::WAFv2::WebACL');
    const rules = acl.Properties.Rules as { Name: string; Statement: Record<string, unknown> }[];
    assert.equal(acl.Properties.Scope, 'CLOUDFRONT');
    assert.ok(rules.some((r) => json(r.Statement).includes('NotStatement') && json(r.Statement).includes('IPSetReferenceStatement')));
    assert.ok(rules.some((r) => (r.Statement.RateBasedStatement as { Limit: number })?.Limit === params.wafRateLimit));
    for (const g of ['AWSManagedRulesCommonRuleSet', 'AWSManagedRulesKnownBadInputsRuleSet', 'AWSManagedRulesAmazonIpReputationList']) {
      assert.ok(rules.some((r) => json(r.Statement).includes(g)), g);
    }
    edge.hasResourceProperties('AWS::WAFv2::IPSet', { Addresses: params.allowedIpCidrs, Scope: 'CLOUDFRONT' });
    edge.resourceCountIs('AWS::WAFv2::LoggingConfiguration', 1);
  });
  it('response headers: CSP of appendix E for the console, HSTS, nosniff, frame DENY, referrer', () => {
    const [[, h]] = resources(gateway, 'AWS::CloudFront::ResponseHeadersPolicy');
    const sec = h.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    const csp = json(sec.ContentSecurityPolicy.ContentSecurityPolicy);
    for (const d of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'",
      'https://cognito-idp.ap-northeast-1.amazonaws.com', 'https://cognito-identity.ap-northeast-1.amazonaws.com',
      `https://${params.cognitoDomainPrefix}.auth.ap-northeast-1.amazoncognito.com`, 'wss://']) {
      assert.ok(csp.includes(d), `CSP lacks ${d}: ${csp}`);
    }
    assert.ok(!csp.includes("'unsafe-inline'") && !csp.includes("'unsafe-eval'") && !csp.includes('*.amazonaws.com'));
    assert.ok(sec.StrictTransportSecurity.AccessControlMaxAgeSec >= 31536000);
    assert.equal(sec.ContentTypeOptions.Override, true);
    assert.equal(sec.FrameOptions.FrameOption, 'DENY');
    assert.equal(sec.ReferrerPolicy.ReferrerPolicy, 'no-referrer');
  });
  it('deploys the console folder without its config.js, plus the generated config.js', () => {
    const [[, dep]] = resources(gateway, 'Custom::CDKBucketDeployment');
    assert.equal(dep.Properties.SourceObjectKeys.length, 2);
    const assetDirs = fs.readdirSync(s.outdir).filter((d) => d.startsWith('asset.'))
      .map((d) => path.join(s.outdir, d)).filter((d) => fs.statSync(d).isDirectory());
    const consoleDir = assetDirs.find((d) => fs.existsSync(path.join(d, 'index.html')));
    assert.ok(consoleDir, 'console asset missing');
    assert.ok(!fs.existsSync(path.join(consoleDir, 'config.js')), 'the folder\'s own config.js must not be deployed');
    const configDir = assetDirs.find((d) => fs.readdirSync(d).join() === 'config.js');
    assert.ok(configDir, 'generated config.js missing');
    const text = fs.readFileSync(path.join(configDir, 'config.js'), 'utf8');
    const config = JSON.parse(/window\.IOT_CONSOLE_CONFIG = ([\s\S]*);/.exec(text)![1]);
    // Exactly the "aws" keys of client/README.md's schema (the console refuses unknown keys).
    assert.deepEqual(Object.keys(config).sort(), ['clientId', 'clientIdPrefix', 'cognitoDomain', 'identityPoolId',
      'iotEndpoint', 'mode', 'redirectUri', 'region', 'things', 'userPoolId']);
    assert.equal(config.mode, 'aws');
    assert.equal(config.redirectUri, params.callbackUrls[0]);
    assert.deepEqual(config.things, params.thingNames);
    assert.match(config.cognitoDomain, /^https:\/\/[^/]+$/);
    assert.equal(config.clientIdPrefix, 'console-{identityId}-');
    // Deploy-time values are markers that the deployment replaces with these references.
    const markers = json(dep.Properties.SourceMarkers);
    for (const ref of ['UserPool', 'ConsoleClient', 'IdentityPool', 'DataEndpoint']) assert.ok(markers.includes(ref), ref);
  });
});

describe('Monitoring (table No 7-9)', () => {
  const alarms = resources(gateway, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
  const names = alarms.map((a) => a.AlarmName);
  it('alarms on IoT connect/authz failures, Cognito sign-in failures, disconnections, rotation errors', () => {
    for (const n of ['amr-iot-connect-auth-failures', 'amr-iot-pub-sub-authz-failures', 'amr-cognito-sign-in-failures',
      'amr-amr-disconnected', 'amr-rotation-failures', 'amr-provisioning-refused', 'amr-provisioning-hook-failures']) assert.ok(names.includes(n), `${n} missing in ${names}`);
    const metricsOf = json(alarms);
    for (const m of ['Connect.AuthNError', 'Connect.AuthZError', 'PublishIn.AuthZError', 'Subscribe.AuthZError', 'SignInSuccesses', 'AmrDisconnected']) {
      assert.ok(metricsOf.includes(m), m);
    }
    for (const a of alarms) assert.equal(a.AlarmActions.length, 1, `${a.AlarmName} notifies nobody`);
  });
  it('WAF blocks alarm in us-east-1', () => {
    edge.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'BlockedRequests', Namespace: 'AWS/WAFV2' });
  });
  it('lifecycle rule counts AMR disconnections (not consoles, not claim connections)', () => {
    gateway.hasResourceProperties('AWS::IoT::TopicRule', {
      TopicRulePayload: Match.objectLike({ Sql: Match.stringLikeRegexp("FROM '\\$aws/events/presence/disconnected/\\+'.*console-.*claim-") }),
    });
  });
  it('certificates nearing expiry: daily Device Defender audit notifying the alarm topic', () => {
    gateway.hasResourceProperties('AWS::IoT::ScheduledAudit', {
      Frequency: 'DAILY', TargetCheckNames: Match.arrayWith(['DEVICE_CERTIFICATE_EXPIRING_CHECK']),
    });
    gateway.hasResourceProperties('AWS::IoT::AccountAuditConfiguration', {
      AuditCheckConfigurations: Match.objectLike({ DeviceCertificateExpiringCheck: { Enabled: true } }),
      AuditNotificationTargetConfigurations: { Sns: Match.objectLike({ Enabled: true }) },
    });
  });
  it('alarm topics enforce TLS and mail the alarm address', () => {
    for (const t of [gateway, edge]) {
      t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: params.alarmEmail });
      assert.ok(json(t.findResources('AWS::SNS::TopicPolicy')).includes('aws:SecureTransport'));
    }
  });
  it('every log group has a retention period', () => {
    for (const t of [gateway, edge]) {
      for (const [id, g] of resources(t, 'AWS::Logs::LogGroup')) assert.equal(g.Properties.RetentionInDays, params.logRetentionDays, id);
    }
  });
});
