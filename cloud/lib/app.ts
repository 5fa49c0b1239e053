// Builds the whole app from the parameters: the edge stack in us-east-1 (WAF for CloudFront) and
// the gateway stack in ap-northeast-1, with cdk-nag's AWS Solutions checks on both.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EdgeStack } from './edge-stack';
import { GatewayStack } from './gateway-stack';
import { DeploymentParams } from './params';

export interface AmrApp {
  app: App;
  edge: EdgeStack;
  gateway: GatewayStack;
}

// Cross-region references (the web ACL ARN) stay strong: the edge stack cannot drop the ACL
// while the distribution uses it.
export const APP_CONTEXT = { '@aws-cdk/core:defaultCrossStackReferences': 'strong' };

export function buildApp(params: DeploymentParams, app: App = new App({ context: APP_CONTEXT })): AmrApp {
  const edge = new EdgeStack(app, 'AmrConsoleEdge', {
    env: { account: params.account, region: 'us-east-1' },
    crossRegionReferences: true,
    params,
    description: 'AMR console: WAF web ACL for CloudFront (us-east-1)',
  });
  const gateway = new GatewayStack(app, 'AmrGateway', {
    env: { account: params.account, region: params.region },
    crossRegionReferences: true,
    params,
    webAclArn: edge.webAclArn,
    description: 'AMR gateway cloud side: Cognito, IoT Core, console delivery, monitoring (seed design)',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, edge, gateway };
}
