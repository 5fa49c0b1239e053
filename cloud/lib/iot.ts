// AWS IoT Core (seed: 付録 B/C, デバイス証明書と鍵管理, table No 4-6, 8):
// - the IoT policies device / claim / console from cloud/policies/ (the files localcore enforces),
//   under the names the provisioning template and localcore use;
// - the thing type amr, the fleet provisioning template amr (cloud/provisioning/amr-template.json
//   as is) and its role;
// - the template's pre-provisioning hook: a Lambda (lambda/pre-provisioning.ts) that lets a claim
//   certificate register only the device it names, and no locked thing;
// - the backend rotation step: rule on amr/+/certificate/rotated -> Lambda (lambda/rotation.ts),
//   with its table of the certificates each thing's rotation retired;
// - IoT logging (AWSIotLogsV2, with retention).
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as iot from 'aws-cdk-lib/aws-iot';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { lambdaFunction } from './lambda-function';
import { METRIC_NAMESPACE } from './monitoring';
import { acknowledge, iam5Resource } from './nag';
import { DeploymentParams } from './params';
import { loadIotPolicy, loadProvisioningTemplate, PolicyDocument, templatePolicyNames } from './policy-files';

export const TEMPLATE_NAME = 'amr';
/** The hook's payload version, the only one AWS IoT documents. */
export const HOOK_PAYLOAD_VERSION = '2020-04-01';
export const THING_TYPE_NAME = 'amr';
export const ROTATION_TOPIC_FILTER = 'amr/+/certificate/rotated';
// Only the report's own fields: with SELECT *, a payload field called thingName or principal would
// compete with the values the broker vouches for.
export const ROTATION_RULE_SQL = 'SELECT oldCertificateId, clientToken, topic(2) AS thingName, principal() AS principal '
  + `FROM '${ROTATION_TOPIC_FILTER}'`;

export interface IotProps {
  readonly params: DeploymentParams;
}

export class IotCore extends Construct {
  readonly policies: Record<'device' | 'claim' | 'console', iot.CfnPolicy>;
  readonly documents: Record<'device' | 'claim' | 'console', PolicyDocument>;
  readonly dataEndpoint: string;
  readonly rotationFunction: lambda.Function;
  readonly retiredCertificates: dynamodb.Table;
  readonly preProvisioningFunction: lambda.Function;

  constructor(scope: Construct, id: string, props: IotProps) {
    super(scope, id);
    const p = props.params;
    const stack = Stack.of(this);

    const names = ['device', 'claim', 'console'] as const;
    this.documents = Object.fromEntries(names.map((n) => [n, loadIotPolicy(n, p.region, p.account)])) as IotCore['documents'];
    // The policy name is the file name, as in localcore: the template attaches "device" by name.
    this.policies = Object.fromEntries(names.map((n) => [n, new iot.CfnPolicy(this, `Policy-${n}`, {
      policyName: n, policyDocument: this.documents[n],
    })])) as IotCore['policies'];

    new iot.CfnThingType(this, 'ThingType', {
      thingTypeName: THING_TYPE_NAME,
      thingTypeProperties: {
        thingTypeDescription: 'Autonomous mobile robot behind an iotgw gateway',
        searchableAttributes: ['model', 'serialNumber'],
      },
    });

    const template = loadProvisioningTemplate(TEMPLATE_NAME);
    for (const name of templatePolicyNames(template)) {
      if (!(name in this.policies)) throw new Error(`amr-template.json attaches policy '${name}', which cloud/policies does not define`);
    }
    const provisioningRole = new iam.Role(this, 'ProvisioningRole', {
      description: 'Fleet provisioning template amr: creates the thing, activates the certificate, attaches device',
      assumedBy: new iam.ServicePrincipal('iot.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSIoTThingsRegistration')],
    });
    acknowledge(provisioningRole,
      'AWSIoTThingsRegistration is the policy AWS documents for fleet provisioning roles; a hand-written subset that '
      + 'misses one action would fail RegisterThing only at run time, on a device in the field.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSIoTThingsRegistration]');
    // Literal ARNs (the seed's region is in the aws partition), so that the cdk-nag finding ids below
    // name exactly these resources.
    const iotArn = `arn:aws:iot:${p.region}:${p.account}`;
    const certArn = `${iotArn}:cert/*`;
    const thingArn = `${iotArn}:thing/*`;
    const hook = this.preProvisioningHook(p, `${iotArn}:provisioningtemplate/${TEMPLATE_NAME}`, certArn, thingArn);
    this.preProvisioningFunction = hook.fn;
    const provisioningTemplate = new iot.CfnProvisioningTemplate(this, 'ProvisioningTemplate', {
      templateName: TEMPLATE_NAME,
      description: 'AMR fleet provisioning by claim (cloud/provisioning/amr-template.json)',
      enabled: true,
      templateType: 'FLEET_PROVISIONING',
      provisioningRoleArn: provisioningRole.roleArn,
      templateBody: JSON.stringify(template),
      preProvisioningHook: { targetArn: hook.fn.functionArn, payloadVersion: HOOK_PAYLOAD_VERSION },
    });
    Object.values(this.policies).forEach((pol) => provisioningTemplate.node.addDependency(pol));
    // AWS IoT may invoke the hook as soon as the template exists.
    provisioningTemplate.node.addDependency(hook.permission);

    // The account's data endpoint: for the rotation replies and for the console's config.js.
    const endpoint = new cr.AwsCustomResource(this, 'DataEndpoint', {
      onUpdate: {
        service: 'Iot', action: 'describeEndpoint', parameters: { endpointType: 'iot:Data-ATS' },
        physicalResourceId: cr.PhysicalResourceId.of('iot-data-ats-endpoint'),
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([new iam.PolicyStatement({
        actions: ['iot:DescribeEndpoint'], resources: ['*'],
      })]),
      installLatestAwsSdk: false,
    });
    acknowledge(endpoint, 'iot:DescribeEndpoint has no resource-level permissions (IAM accepts only *).',
      'AwsSolutions-IAM5[Resource::*]');
    this.dataEndpoint = endpoint.getResponseField('endpointAddress');

    // The rotation step. Its table remembers which thing's rotation retired a certificate, so that
    // only that thing's retry is answered "already done" (why not a thing attribute or a tag:
    // lambda/rotation.ts). It holds only that retry memory: losing it turns a late retry into a
    // 403 the device drops, so it goes with the stack; TTL keeps it bounded.
    this.retiredCertificates = new dynamodb.Table(this, 'RetiredCertificates', {
      partitionKey: { name: 'certificateId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.rotationFunction = lambdaFunction(this, 'RotationFunction', p, {
      handler: 'rotation-handler.handler',
      description: 'Certificate rotation: deactivates and detaches the old certificate a device reports',
      timeout: Duration.seconds(30),
      environment: {
        IOT_DATA_ENDPOINT: this.dataEndpoint,
        RETIRED_CERTIFICATES_TABLE: this.retiredCertificates.tableName,
      },
      reservedConcurrentExecutions: 10,
    });
    const replyArn = `${iotArn}:topic/amr/*/certificate/rotated/*`;
    this.rotationFunction.addToRolePolicy(new iam.PolicyStatement({
      actions: ['iot:DescribeCertificate', 'iot:UpdateCertificate', 'iot:ListPrincipalThings'], resources: [certArn],
    }));
    this.rotationFunction.addToRolePolicy(new iam.PolicyStatement({
      actions: ['iot:ListThingPrincipals', 'iot:DetachThingPrincipal'], resources: [thingArn],
    }));
    this.rotationFunction.addToRolePolicy(new iam.PolicyStatement({
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], resources: [this.retiredCertificates.tableArn],
    }));
    this.rotationFunction.addToRolePolicy(new iam.PolicyStatement({
      actions: ['iot:Publish'],
      resources: [replyArn],
    }));
    acknowledge(this.rotationFunction.role!,
      'Certificates and things are created by fleet provisioning after deployment, so their ARNs end in *; the '
      + 'function acts only on the reporting thing and on certificates attached to it (checked before any change, '
      + 'tested in test/rotation.test.ts). Publish is limited to the rotation reply topics.',
      ...[certArn, thingArn, replyArn].map(iam5Resource));
    const rule = new iot.CfnTopicRule(this, 'RotationRule', {
      ruleName: 'amr_certificate_rotated',
      topicRulePayload: {
        description: 'A device reports that it switched certificates: retire its old one',
        sql: ROTATION_RULE_SQL, awsIotSqlVersion: '2016-03-23', ruleDisabled: false,
        actions: [{ lambda: { functionArn: this.rotationFunction.functionArn } }],
      },
    });
    this.rotationFunction.addPermission('InvokeByRotationRule', {
      principal: new iam.ServicePrincipal('iot.amazonaws.com'), sourceArn: rule.attrArn, sourceAccount: p.account,
    });

    if (p.iotLogging) {
      // AWS IoT writes to this fixed log group; creating it here sets its retention.
      new logs.LogGroup(this, 'IotLogs', {
        logGroupName: 'AWSIotLogsV2', retention: p.logRetentionDays as logs.RetentionDays,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      const loggingRole = new iam.Role(this, 'LoggingRole', {
        description: 'AWS IoT logging to CloudWatch Logs (AWSIotLogsV2)',
        assumedBy: new iam.ServicePrincipal('iot.amazonaws.com'),
        inlinePolicies: {
          logs: new iam.PolicyDocument({
            statements: [new iam.PolicyStatement({
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
              resources: [stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: 'AWSIotLogsV2:*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
            })],
          }),
        },
      });
      acknowledge(loggingRole, 'Log streams of the AWSIotLogsV2 group are created by AWS IoT with names not known in advance.',
        iam5Resource(`arn:<AWS::Partition>:logs:${p.region}:${p.account}:log-group:AWSIotLogsV2:*`));
      // Failed authorizations, connections and rule errors are logged (WARN includes ERROR).
      new iot.CfnLogging(this, 'Logging', {
        accountId: p.account, defaultLogLevel: 'WARN', roleArn: loggingRole.roleArn,
      });
    }
  }

  // The pre-provisioning hook (seed table No 6: one device's claim certificate must not provision
  // another). Its role may only read certificates (the claim certificate's subject) and things
  // (the lock attribute); AWS IoT may invoke it only for this account's template amr, with the
  // confused-deputy conditions AWS IoT asks for (aws:SourceArn and aws:SourceAccount).
  private preProvisioningHook(p: DeploymentParams, templateArn: string, certArn: string, thingArn: string):
    { fn: lambda.Function; permission: lambda.CfnPermission } {
    const fn = lambdaFunction(this, 'PreProvisioningHook', p, {
      handler: 'pre-provisioning-hook.handler',
      description: 'Fleet provisioning hook: a claim certificate registers only its own device, never a locked thing',
      // RegisterThing waits for the decision: two IoT reads, then the answer.
      timeout: Duration.seconds(5),
      environment: {
        FLEET_CLAIM_CERTIFICATE_IDS: p.fleetClaimCertificateIds.join(','),
        METRIC_NAMESPACE,
        // The naming rule the browser role's `<prefix>*` relies on is enforced here, where things
        // are created. Without thingNamePrefix the role names each thing, so no rule is needed.
        THING_NAME_PREFIX: p.thingNamePrefix ?? '',
      },
      reservedConcurrentExecutions: 10,
    });
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['iot:DescribeCertificate'], resources: [certArn] }));
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['iot:DescribeThing'], resources: [thingArn] }));
    acknowledge(fn.role!,
      'Claim certificates and things are created after deployment (factory step, fleet provisioning), so their ARNs '
      + 'end in *; the hook only reads them: the claim certificate of the request and the requested thing '
      + '(tested in test/pre-provisioning.test.ts).',
      ...[certArn, thingArn].map(iam5Resource));
    fn.addPermission('InvokeByProvisioningTemplate', {
      principal: new iam.ServicePrincipal('iot.amazonaws.com'), sourceArn: templateArn, sourceAccount: p.account,
    });
    const permission = fn.node.findChild('InvokeByProvisioningTemplate') as lambda.CfnPermission;
    return { fn, permission };
  }
}
