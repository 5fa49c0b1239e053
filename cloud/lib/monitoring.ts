// Monitoring (seed: 監視・運用・アラート, table No 7-9): CloudWatch alarms on IoT connect and
// authorization failures, Cognito sign-in failures, AMR disconnections (the cause of missing
// heartbeats), rotation failures and provisioning requests the pre-provisioning hook refused (or
// could not decide), all to one SNS topic; Device Defender's daily audit reports certificates
// nearing expiry to the same topic. The WAF alarm lives in the edge stack (us-east-1).
//
// Why disconnections and not the heartbeats themselves: a rule on amr/+/heartbeat runs for every
// heartbeat, 259,200 times per AMR per month; with a CloudWatch action that is one PutMetricData
// each (USD 0.01 per 1,000) — about USD 2.6 per AMR per month, more than the AMR's whole IoT bill.
// A gateway that stops sending heartbeats has lost its connection (its MQTT keep-alive and the
// heartbeat share the link), and AWS IoT publishes a lifecycle event for that, once.
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as iot from 'aws-cdk-lib/aws-iot';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { REFUSAL_METRIC } from '../lambda/pre-provisioning';
import { alarmTopic } from './alarm-topic';
import { acknowledge } from './nag';
import { DeploymentParams } from './params';

export const METRIC_NAMESPACE = 'AmrGateway';
export const DISCONNECT_RULE_SQL = "SELECT clientId, disconnectReason FROM '$aws/events/presence/disconnected/+' "
  + "WHERE NOT startswith(clientId, 'console-') AND NOT startswith(clientId, 'claim-') "
  + "AND disconnectReason <> 'CLIENT_INITIATED_DISCONNECT'";

export interface MonitoringProps {
  readonly params: DeploymentParams;
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  readonly rotationFunction: lambda.Function;
  readonly preProvisioningFunction: lambda.Function;
}

export class Monitoring extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const p = props.params;
    this.topic = alarmTopic(this, 'Alarms');
    if (p.alarmEmail) this.topic.addSubscription(new subs.EmailSubscription(p.alarmEmail));
    const action = new cwActions.SnsAction(this.topic);
    const alarm = (name: string, description: string, metric: cloudwatch.IMetric, threshold: number) => {
      const a = new cloudwatch.Alarm(this, name, {
        alarmName: `amr-${name.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}`,
        alarmDescription: description, metric, threshold, evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(action);
      return a;
    };
    const period = Duration.minutes(5);
    const iotMetric = (metricName: string) => new cloudwatch.Metric({
      namespace: 'AWS/IoT', metricName, statistic: 'Sum', period, dimensionsMap: { Protocol: 'MQTT' },
    });

    alarm('IotConnectAuthFailures',
      'Connections refused by AWS IoT (unknown/inactive certificate, or the policy denies iot:Connect): a revoked or '
      + 'leaked certificate, or a device with the wrong client id. See AWSIotLogsV2.',
      new cloudwatch.MathExpression({
        expression: 'authn + authz', period,
        usingMetrics: { authn: iotMetric('Connect.AuthNError'), authz: iotMetric('Connect.AuthZError') },
        label: 'IoT connect authentication + authorization failures',
      }), 5);
    alarm('IotPubSubAuthzFailures',
      'Publish/subscribe refused by an IoT policy: a device or console reaching outside its own topics (seed table '
      + 'No 4). See AWSIotLogsV2.',
      new cloudwatch.MathExpression({
        expression: 'pub + sub', period,
        usingMetrics: { pub: iotMetric('PublishIn.AuthZError'), sub: iotMetric('Subscribe.AuthZError') },
        label: 'IoT publish + subscribe authorization failures',
      }), 1);

    // SignInSuccesses: Sum = successes, SampleCount = attempts (AWS/Cognito).
    const signIn = (statistic: string) => new cloudwatch.Metric({
      namespace: 'AWS/Cognito', metricName: 'SignInSuccesses', statistic, period,
      dimensionsMap: { UserPool: props.userPool.userPoolId, UserPoolClient: props.client.userPoolClientId },
    });
    alarm('CognitoSignInFailures',
      'Failed sign-ins to the console (shared user org-operator): a lost device or an attack (seed table No 1). '
      + 'Review the user\'s passkeys and the Cognito threat-protection events.',
      new cloudwatch.MathExpression({
        expression: 'attempts - successes', period,
        usingMetrics: { attempts: signIn('SampleCount'), successes: signIn('Sum') },
        label: 'Cognito sign-in failures',
      }), 5);

    // AMR disconnections (heartbeats stop): a lifecycle rule counts them per AMR.
    new iot.CfnTopicRule(this, 'DisconnectRule', {
      ruleName: 'amr_disconnected',
      topicRulePayload: {
        description: 'Counts unexpected AMR disconnections (their heartbeats stop) as a CloudWatch metric',
        sql: DISCONNECT_RULE_SQL, awsIotSqlVersion: '2016-03-23', ruleDisabled: false,
        actions: [{
          cloudwatchMetric: {
            metricNamespace: METRIC_NAMESPACE, metricName: 'AmrDisconnected', metricUnit: 'Count', metricValue: '1',
            roleArn: this.metricRole().roleArn,
          },
        }],
      },
    });
    alarm('AmrDisconnected',
      'An AMR gateway lost its connection to AWS IoT (keep-alive timeout, network, power): its heartbeats stop and '
      + 'the console shows 通信不良 after 25 s. Check the lifecycle events $aws/events/presence/disconnected/<thing>.',
      new cloudwatch.Metric({ namespace: METRIC_NAMESPACE, metricName: 'AmrDisconnected', statistic: 'Sum', period }), 1);

    alarm('RotationFailures',
      'The certificate rotation step (Lambda) failed: an old device certificate may stay ACTIVE.',
      props.rotationFunction.metricErrors({ period, statistic: 'Sum' }), 1);

    // The hook writes one Embedded Metric Format count per refusal into its own log (no PutMetricData).
    alarm('ProvisioningRefused',
      'The pre-provisioning hook refused a RegisterThing: a claim certificate asked for another device\'s serial '
      + '(a leaked claim key?), a locked thing tried to come back, or a device sent malformed parameters. The '
      + 'reason, claim certificate id and serial are in the hook\'s log (reason field).',
      new cloudwatch.Metric({ namespace: METRIC_NAMESPACE, metricName: REFUSAL_METRIC, statistic: 'Sum', period }), 1);
    alarm('ProvisioningHookFailures',
      'The pre-provisioning hook (Lambda) failed: RegisterThing is refused while it fails, so devices cannot '
      + 'provision or recover through their claim certificates.',
      props.preProvisioningFunction.metricErrors({ period, statistic: 'Sum' }), 1);

    if (p.deviceDefenderAudit) this.certificateAudit();
  }

  private metricRole(): iam.Role {
    const role = new iam.Role(this, 'MetricRole', {
      description: 'IoT rule amr_disconnected: put its metric into CloudWatch',
      assumedBy: new iam.ServicePrincipal('iot.amazonaws.com'),
    });
    // cloudwatch:PutMetricData has no resource-level permissions; the namespace condition narrows it.
    role.addToPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'], resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACE } },
    }));
    acknowledge(role, 'cloudwatch:PutMetricData has no resource-level permissions; the condition limits it to the '
      + `${METRIC_NAMESPACE} namespace.`, 'AwsSolutions-IAM5[Resource::*]');
    return role;
  }

  // Device Defender audit: DEVICE_CERTIFICATE_EXPIRING_CHECK flags device certificates that expire
  // within 30 days (seed table No 8: 期限逼迫アラート) and notifies the alarm topic, daily.
  private certificateAudit(): void {
    const stack = Stack.of(this);
    const auditRole = new iam.Role(this, 'AuditRole', {
      description: 'Device Defender audit: read IoT configuration, notify the alarm topic',
      assumedBy: new iam.ServicePrincipal('iot.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSIoTDeviceDefenderAudit')],
    });
    this.topic.grantPublish(auditRole);
    const checks = {
      deviceCertificateExpiringCheck: { enabled: true },
      caCertificateExpiringCheck: { enabled: true },
      revokedDeviceCertificateStillActiveCheck: { enabled: true },
      deviceCertificateSharedCheck: { enabled: true },
      conflictingClientIdsCheck: { enabled: true },
      iotPolicyOverlyPermissiveCheck: { enabled: true },
      authenticatedCognitoRoleOverlyPermissiveCheck: { enabled: true },
      unauthenticatedCognitoRoleOverlyPermissiveCheck: { enabled: true },
      loggingDisabledCheck: { enabled: true },
    };
    const config = new iot.CfnAccountAuditConfiguration(this, 'AuditConfiguration', {
      accountId: stack.account,
      roleArn: auditRole.roleArn,
      auditCheckConfigurations: checks,
      auditNotificationTargetConfigurations: {
        sns: { enabled: true, targetArn: this.topic.topicArn, roleArn: auditRole.roleArn },
      },
    });
    const scheduled = new iot.CfnScheduledAudit(this, 'DailyAudit', {
      scheduledAuditName: 'amr-daily',
      frequency: 'DAILY',
      targetCheckNames: [
        'DEVICE_CERTIFICATE_EXPIRING_CHECK', 'CA_CERTIFICATE_EXPIRING_CHECK', 'REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK',
        'DEVICE_CERTIFICATE_SHARED_CHECK', 'CONFLICTING_CLIENT_IDS_CHECK', 'IOT_POLICY_OVERLY_PERMISSIVE_CHECK',
        'AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK', 'UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK',
        'LOGGING_DISABLED_CHECK',
      ],
    });
    scheduled.addDependency(config);
    acknowledge(auditRole, 'AWSIoTDeviceDefenderAudit is the policy AWS documents for the audit role; it is read-only '
      + 'on the IoT configuration that the audit checks.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSIoTDeviceDefenderAudit]');
  }
}
