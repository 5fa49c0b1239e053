// Cognito for the browser console (seed: アイデンティティと認証, 付録 A, table No 1-3):
// - a user pool whose first factor is a passkey (WebAuthn, user verification required) through
//   managed login, self sign-up off, the single shared user org-operator;
// - a public app client (no secret) with the authorization code grant (the console uses PKCE),
//   redirect and sign-out URIs exactly as given in the parameters, scope
//   aws.cognito.signin.user.admin (passkey list/delete needs the access token with it);
// - an identity pool for authenticated identities only, whose role (appendix A) may connect only
//   with a client id starting console-<own identity id>- and reach only the configured AMRs (or,
//   with thingNamePrefix, the AMRs named with that prefix); a role that would exceed IAM's size
//   limit fails the synth here rather than the deployment;
// - the reconciler that attaches the IoT policy `console` to the identities (lambda/console-policy.ts).
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as iot from 'aws-cdk-lib/aws-iot';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { lambdaFunction } from './lambda-function';
import { acknowledge, iam5Resource } from './nag';
import { DeploymentParams, relyingPartyId } from './params';
import { consoleRoleStatements, IAM_ROLE_POLICY_SIZE_LIMIT, iamPolicySize, PolicyDocument } from './policy-files';

export const OPERATOR_USERNAME = 'org-operator';

export interface AuthProps {
  readonly params: DeploymentParams;
  readonly consolePolicy: iot.CfnPolicy;
  readonly consolePolicyDocument: PolicyDocument;
}

export class Auth extends Construct {
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  readonly domain: cognito.UserPoolDomain;
  readonly identityPool: cognito.CfnIdentityPool;
  readonly authenticatedRole: iam.Role;

  constructor(scope: Construct, id: string, props: AuthProps) {
    super(scope, id);
    const p = props.params;
    const stack = Stack.of(this);

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: 'amr-console',
      selfSignUpEnabled: false,
      signInAliases: { username: true },
      signInCaseSensitive: false,
      // Passkeys first. Cognito requires PASSWORD to stay in the list; org-operator's password is
      // set to a long random value nobody keeps once its passkeys exist (docs/cloud-deployment.md).
      signInPolicy: { allowedFirstAuthFactors: { password: true, passkey: true } },
      passkeyRelyingPartyId: relyingPartyId(p),
      passkeyUserVerification: cognito.PasskeyUserVerification.REQUIRED,
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      passwordPolicy: {
        minLength: 16, requireDigits: true, requireLowercase: true, requireUppercase: true, requireSymbols: true,
        tempPasswordValidity: Duration.days(1),
      },
      mfa: cognito.Mfa.OFF,
      accountRecovery: cognito.AccountRecovery.NONE,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(this.userPool, 'The first factor is a passkey with user verification REQUIRED: possession of the authenticator plus '
        + 'the biometric/PIN check that unlocks it, i.e. two factors in one step. Cognito MFA (SMS/TOTP/email) on '
        + 'top would block passkey sign-in in managed login. The password factor that Cognito keeps mandatory is '
        + 'neutralised by a random, undisclosed password (deployment docs, step "org-operator").',
      'AwsSolutions-COG2');

    this.domain = this.userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix: p.cognitoDomainPrefix },
      managedLoginVersion: cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
    });

    this.client = this.userPool.addClient('ConsoleClient', {
      userPoolClientName: 'amr-console',
      generateSecret: false,
      authFlows: { user: true },
      oAuth: {
        flows: { authorizationCodeGrant: true, implicitCodeGrant: false, clientCredentials: false },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.COGNITO_ADMIN],
        callbackUrls: p.callbackUrls,
        logoutUrls: p.logoutUrls,
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      // Seed table No 1 (短いセッション): an hour per token, a working day per refresh token.
      accessTokenValidity: Duration.minutes(60),
      idTokenValidity: Duration.minutes(60),
      refreshTokenValidity: Duration.hours(12),
      authSessionValidity: Duration.minutes(5),
    });

    // Managed login needs a style per app client; Cognito's default look is enough here.
    new cognito.CfnManagedLoginBranding(this, 'ManagedLoginBranding', {
      userPoolId: this.userPool.userPoolId,
      clientId: this.client.userPoolClientId,
      useCognitoProvidedValues: true,
    });

    // The shared user, created without a password: with passkeys active Cognito generates none.
    const userAttributes = p.operatorEmail
      ? [{ Name: 'email', Value: p.operatorEmail }, { Name: 'email_verified', Value: 'true' }]
      : undefined;
    const operator = new cr.AwsCustomResource(this, 'OrgOperator', {
      onCreate: {
        service: 'CognitoIdentityProvider',
        action: 'adminCreateUser',
        parameters: {
          UserPoolId: this.userPool.userPoolId, Username: OPERATOR_USERNAME, MessageAction: 'SUPPRESS', UserAttributes: userAttributes,
        },
        physicalResourceId: cr.PhysicalResourceId.of(OPERATOR_USERNAME),
        ignoreErrorCodesMatching: 'UsernameExistsException',
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([new iam.PolicyStatement({
        actions: ['cognito-idp:AdminCreateUser'], resources: [this.userPool.userPoolArn],
      })]),
      installLatestAwsSdk: false,
    });
    operator.node.addDependency(this.domain);

    const providerName = this.userPool.userPoolProviderName;
    this.identityPool = new cognito.CfnIdentityPool(this, 'IdentityPool', {
      identityPoolName: 'amr_console',
      allowUnauthenticatedIdentities: false,
      allowClassicFlow: false,
      cognitoIdentityProviders: [{
        clientId: this.client.userPoolClientId, providerName, serverSideTokenCheck: true,
      }],
    });

    const roleStatements = consoleRoleStatements(props.consolePolicyDocument, p.thingNames, p.thingNamePrefix);
    const rolePolicy = new iam.PolicyDocument({
      statements: roleStatements.map((s) => new iam.PolicyStatement({
        effect: s.Effect === 'Deny' ? iam.Effect.DENY : iam.Effect.ALLOW, actions: s.Action, resources: s.Resource,
      })),
    });
    // The role's only inline policy (test/console-role-scale.test.ts checks that nothing adds another).
    const rolePolicySize = iamPolicySize(stack.resolve(rolePolicy));
    if (rolePolicySize > IAM_ROLE_POLICY_SIZE_LIMIT) throw new Error(roleTooLarge(p.thingNames, rolePolicySize));
    this.authenticatedRole = new iam.Role(this, 'AuthenticatedRole', {
      description: 'Browser console (Cognito authenticated identity): MQTT over WSS to the configured AMRs only',
      maxSessionDuration: Duration.hours(1),
      assumedBy: new iam.FederatedPrincipal('cognito-identity.amazonaws.com', {
        StringEquals: { 'cognito-identity.amazonaws.com:aud': this.identityPool.ref },
        'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'authenticated' },
      }, 'sts:AssumeRoleWithWebIdentity'),
      inlinePolicies: { iot: rolePolicy },
    });
    acknowledge(this.authenticatedRole,
      'Appendix A least privilege: the wildcards are the suffix of the client id after the caller\'s own identity id '
      + '(console-<identity id>-*) and the topics below each configured AMR (amr/<thing>/*, its robot shadow, its '
      + 'presence events); no action wildcard, no other AMR'
      + (p.thingNamePrefix === undefined ? '.'
        : `. With thingNamePrefix the thing is ${p.thingNamePrefix}*: every AMR named with the prefix, and a Deny `
          + 'keeps publishing to one topic level per thing (lib/policy-files.ts).'),
      ...new Set(roleStatements.filter((s) => s.Effect === 'Allow').flatMap((s) => s.Resource)
        .filter((r) => r.includes('*')).map(iam5Resource)));
    new cognito.CfnIdentityPoolRoleAttachment(this, 'Roles', {
      identityPoolId: this.identityPool.ref,
      roles: { authenticated: this.authenticatedRole.roleArn },
    });

    // The reconciler: identity ids appear at first sign-in, so the IoT policy is attached then.
    const consolePolicyArn = stack.formatArn({ service: 'iot', resource: 'policy', resourceName: 'console' });
    const reconciler = lambdaFunction(this, 'ConsolePolicyReconciler', p, {
      handler: 'console-policy-handler.handler',
      description: 'Attaches the IoT policy console to the Cognito identities of the console user pool',
      timeout: Duration.seconds(30),
      environment: {
        IDENTITY_POOL_ID: this.identityPool.ref,
        USER_POOL_PROVIDER: providerName,
        POLICY_NAME: props.consolePolicy.ref,
      },
    });
    reconciler.addToRolePolicy(new iam.PolicyStatement({
      actions: ['cognito-identity:ListIdentities'],
      resources: [stack.formatArn({ service: 'cognito-identity', resource: 'identitypool', resourceName: this.identityPool.ref })],
    }));
    reconciler.addToRolePolicy(new iam.PolicyStatement({
      actions: ['iot:ListTargetsForPolicy'], resources: [consolePolicyArn],
    }));
    reconciler.addToRolePolicy(new iam.PolicyStatement({
      actions: ['iot:AttachPolicy', 'iot:DetachPolicy'], resources: ['*'],
    }));
    acknowledge(reconciler.role!,
      'iot:AttachPolicy/DetachPolicy target a Cognito identity id, which is not an ARN-addressable resource, so IAM '
      + 'cannot scope them; the function (tested in test/console-policy.test.ts) only ever names the policy console '
      + 'and identities of this identity pool.',
      'AwsSolutions-IAM5[Resource::*]');
    new events.Rule(this, 'ReconcileSchedule', {
      description: 'Attach the console IoT policy to newly signed-in Cognito identities',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(reconciler, { retryAttempts: 0 })],
    });
  }
}

// Names every number a deployer needs to act on it; the fix is a parameter, not an edit here.
function roleTooLarge(things: string[], size: number): string {
  const n = (v: number) => v.toLocaleString('en-US');
  let common = things.reduce((a, t) => { let i = 0; while (i < a.length && a[i] === t[i]) i++; return a.slice(0, i); });
  const separator = Math.max(common.lastIndexOf('-'), common.lastIndexOf('_'), common.lastIndexOf(':'));
  if (separator >= 0) common = common.slice(0, separator + 1);
  const hint = common !== '' && things.length > 1 ? ` (all ${n(things.length)} configured names start with ${JSON.stringify(common)})` : '';
  return `the browser console's IAM role would have an inline policy of ${n(size)} characters for ${n(things.length)} things `
    + `in thingNames, over IAM's limit of ${n(IAM_ROLE_POLICY_SIZE_LIMIT)} characters per role `
    + '(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html), so CloudFormation would fail to create it. '
    + `Without thingNamePrefix the role names every thing (one ARN per thing and topic). Set thingNamePrefix${hint} `
    + 'in the parameters file: the role then allows the things by that prefix, whatever their number.';
}
