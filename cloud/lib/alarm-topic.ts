import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledge } from './nag';

/** The SNS topic that alarms (and Device Defender audit findings) notify. */
export function alarmTopic(scope: Construct, id: string): sns.Topic {
  const topic = new sns.Topic(scope, id, {
    displayName: 'AMR gateway alarms',
    enforceSSL: true,
  });
  acknowledge(topic, 'CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key aws/sns, and a customer '
      + 'managed key per region costs more than the alarms themselves; the notifications carry alarm names and '
      + 'metric values only, no secrets or personal data. In transit the topic enforces TLS (SNS3).',
      'AwsSolutions-SNS2');
  return topic;
}
