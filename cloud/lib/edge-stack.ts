// The parts that AWS requires in us-east-1 for a CloudFront distribution: the WAF web ACL (scope
// CLOUDFRONT), its logs, and the alarm on its blocks (WAF publishes CloudFront-scope metrics in
// us-east-1 only, and an alarm can notify only an SNS topic of its own region).
import { ArnFormat, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { DeploymentParams } from './params';
import { alarmTopic } from './alarm-topic';

export interface EdgeStackProps extends StackProps {
  readonly params: DeploymentParams;
}

export const WEB_ACL_NAME = 'amr-console';

// AWS managed rule groups, evaluated after the rate limit and the IP allow list.
export const MANAGED_RULE_GROUPS = [
  'AWSManagedRulesAmazonIpReputationList',
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
];

export class EdgeStack extends Stack {
  readonly webAclArn: string;
  readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: EdgeStackProps) {
    super(scope, id, props);
    const p = props.params;
    const visibility = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true, metricName: name, sampledRequestsEnabled: true,
    });

    const rules: wafv2.CfnWebACL.RuleProperty[] = [];
    if (p.allowedIpCidrs.length > 0) {
      // Seed table No 1: only the organisation's proxy reaches the console at all.
      const ipSet = new wafv2.CfnIPSet(this, 'OrgProxyIps', {
        scope: 'CLOUDFRONT', ipAddressVersion: 'IPV4', addresses: p.allowedIpCidrs,
        description: 'Global addresses of the organisation proxy - parameter allowedIpCidrs',
      });
      rules.push({
        name: 'block-outside-org-proxy', priority: 0, action: { block: {} },
        statement: { notStatement: { statement: { ipSetReferenceStatement: { arn: ipSet.attrArn } } } },
        visibilityConfig: visibility('block-outside-org-proxy'),
      });
    }
    rules.push({
      name: 'rate-limit-per-ip', priority: 1, action: { block: {} },
      statement: { rateBasedStatement: { limit: p.wafRateLimit, aggregateKeyType: 'IP' } },
      visibilityConfig: visibility('rate-limit-per-ip'),
    });
    MANAGED_RULE_GROUPS.forEach((name, i) => rules.push({
      name, priority: 10 + i, overrideAction: { none: {} },
      statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
      visibilityConfig: visibility(name),
    }));

    const acl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: WEB_ACL_NAME, scope: 'CLOUDFRONT', defaultAction: { allow: {} }, rules,
      visibilityConfig: visibility(WEB_ACL_NAME),
    });
    this.webAclArn = acl.attrArn;

    // WAF requires the log group name to start with aws-waf-logs-.
    const wafLogs = new logs.LogGroup(this, 'WafLogs', {
      logGroupName: `aws-waf-logs-${WEB_ACL_NAME}`,
      retention: p.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    new wafv2.CfnLoggingConfiguration(this, 'WafLogging', {
      resourceArn: acl.attrArn,
      logDestinationConfigs: [Stack.of(this).formatArn({
        service: 'logs', resource: 'log-group', resourceName: wafLogs.logGroupName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      })],
    });

    this.alarmTopic = alarmTopic(this, 'EdgeAlarms');
    if (p.alarmEmail) this.alarmTopic.addSubscription(new subs.EmailSubscription(p.alarmEmail));
    const blocked = new cloudwatch.Metric({
      namespace: 'AWS/WAFV2', metricName: 'BlockedRequests', statistic: 'Sum', period: Duration.minutes(5),
      dimensionsMap: { WebACL: WEB_ACL_NAME, Rule: 'ALL' },
    });
    new cloudwatch.Alarm(this, 'WafBlocksAlarm', {
      alarmName: 'amr-console-waf-blocks',
      alarmDescription: 'WAF blocked requests to the console (rate limit, IP allow list or managed rules): check the '
        + 'WAF logs (aws-waf-logs-amr-console) for the source (seed runbook: DoS / abnormal traffic).',
      metric: blocked, threshold: 50, evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(new cwActions.SnsAction(this.alarmTopic));
  }
}
