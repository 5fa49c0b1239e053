// The cloud side of the seed design in ap-northeast-1: Cognito, IoT Core, the console's delivery
// and monitoring. The WAF web ACL comes from the edge stack (us-east-1) through a cross-region
// reference.
import { CfnElement, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { Auth } from './auth';
import { Frontend } from './frontend';
import { IotCore } from './iot';
import { RemoteJobs, signingKeyAlias } from './jobs';
import { Monitoring } from './monitoring';
import { acknowledge, LAMBDA_BASIC_EXECUTION } from './nag';
import { DeploymentParams } from './params';
import { CONSOLE_CLIENT_ID_PREFIX } from './policy-files';

export interface GatewayStackProps extends StackProps {
  readonly params: DeploymentParams;
  readonly webAclArn: string;
}

export class GatewayStack extends Stack {
  readonly auth: Auth;
  readonly iot: IotCore;
  readonly frontend: Frontend;
  readonly monitoring: Monitoring;
  readonly jobs: RemoteJobs;

  constructor(scope: Construct, id: string, props: GatewayStackProps) {
    super(scope, id, props);
    const p = props.params;
    this.iot = new IotCore(this, 'Iot', { params: p });
    this.auth = new Auth(this, 'Auth', {
      params: p, consolePolicy: this.iot.policies.console, consolePolicyDocument: this.iot.documents.console,
    });
    const cognitoDomain = `${p.cognitoDomainPrefix}.auth.${p.region}.amazoncognito.com`;
    this.frontend = new Frontend(this, 'Frontend', {
      params: p,
      webAclArn: props.webAclArn,
      cognitoDomain,
      iotEndpoint: this.iot.dataEndpoint,
      config: {
        mode: 'aws',
        things: p.thingNames,
        region: p.region,
        userPoolId: this.auth.userPool.userPoolId,
        clientId: this.auth.client.userPoolClientId,
        identityPoolId: this.auth.identityPool.ref,
        iotEndpoint: this.iot.dataEndpoint,
        cognitoDomain: `https://${cognitoDomain}`,
        redirectUri: p.callbackUrls[0],
        // The browser role allows client ids console-<own identity id>-* only (auth.ts).
        clientIdPrefix: `${CONSOLE_CLIENT_ID_PREFIX}{identityId}-`,
      },
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      params: p, userPool: this.auth.userPool, client: this.auth.client, rotationFunction: this.iot.rotationFunction,
      preProvisioningFunction: this.iot.preProvisioningFunction,
    });

    this.jobs = new RemoteJobs(this, 'Jobs', { params: p, accessLogsBucket: this.frontend.logBucket });

    this.acknowledgeCdkHandlers(p);

    new CfnOutput(this, 'ConsoleUrl', {
      value: p.consoleDomainName ? `https://${p.consoleDomainName}/` : `https://${this.frontend.distribution.distributionDomainName}/`,
    });
    new CfnOutput(this, 'UserPoolId', { value: this.auth.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: this.auth.client.userPoolClientId });
    new CfnOutput(this, 'IdentityPoolId', { value: this.auth.identityPool.ref });
    new CfnOutput(this, 'CognitoDomain', { value: cognitoDomain });
    new CfnOutput(this, 'IotDataEndpoint', { value: this.iot.dataEndpoint });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    // What cloud/jobs/make_job.py and the operators need (cloud/README.md, docs/remote-jobs.md).
    new CfnOutput(this, 'JobArtifactsBucketName', { value: this.jobs.bucket.bucketName });
    new CfnOutput(this, 'JobPresignRoleArn', { value: this.jobs.presignRole.roleArn });
    new CfnOutput(this, 'HealthJobTemplateArn', { value: this.jobs.healthTemplate.jobTemplateRef.jobTemplateArn });
    for (const [label, key] of Object.entries(this.jobs.signingKeys)) {
      new CfnOutput(this, `UpdateSigningKey${label}Arn`, { value: key.keyArn });
      new CfnOutput(this, `UpdateSigningKey${label}Alias`, { value: signingKeyAlias(label) });
    }
    new CfnOutput(this, 'ReleaseSignerArn', { value: this.jobs.releaseSignerArn });
  }

  // CDK's own singleton handlers (AwsCustomResource for DescribeEndpoint and org-operator, the
  // BucketDeployment handler), created at stack level: their roles and runtimes are aws-cdk-lib's.
  // The project's own functions have their own roles without managed policies (test/controls.test.ts).
  private acknowledgeCdkHandlers(p: DeploymentParams): void {
    const singleton = (prefix: string) => {
      const found = this.node.children.filter((c) => c.node.id.startsWith(prefix));
      if (found.length !== 1) throw new Error(`expected one CDK handler ${prefix}*, found ${found.length}`);
      return found[0];
    };
    const awsCustomResource = singleton('AWS679f53fac002430cb0da5b7982bd2287');
    acknowledge(awsCustomResource, 'CDK\'s AwsCustomResource handler: basic execution role chosen by aws-cdk-lib.',
      LAMBDA_BASIC_EXECUTION);
    const deployment = singleton('Custom::CDKBucketDeployment');
    acknowledge(deployment, 'CDK\'s BucketDeployment handler: basic execution role chosen by aws-cdk-lib.',
      LAMBDA_BASIC_EXECUTION);
    acknowledge(deployment, 'CDK\'s BucketDeployment handler: its runtime is pinned by aws-cdk-lib, not by this app.',
      'AwsSolutions-L1');
    acknowledge(deployment,
      'CDK\'s BucketDeployment handler copies every object of the asset (CDK assets bucket) into the site bucket, '
      + 'deletes objects that left the console (prune) and invalidates the distribution: object-level wildcards on '
      + 'these two buckets, CloudFront invalidation has no resource-level permissions.',
      'AwsSolutions-IAM5[Action::s3:Abort*]', 'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
      'AwsSolutions-IAM5[Action::s3:GetBucket*]', 'AwsSolutions-IAM5[Action::s3:GetObject*]',
      'AwsSolutions-IAM5[Action::s3:List*]', 'AwsSolutions-IAM5[Resource::*]',
      `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.frontend.bucket.node.defaultChild as CfnElement)}.Arn>/*]`,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-${p.account}-${p.region}/*]`);
  }
}
