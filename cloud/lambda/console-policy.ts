// Attaches the IoT policy `console` (cloud/policies/console.json) to the Cognito identities that
// signed in through this deployment's user pool. AWS authorizes a Cognito identity on IoT only if
// BOTH its IAM role and an IoT policy attached to its identity id allow the action, and an identity
// id exists only after the first sign-in, so it cannot be attached at deploy time. This reconciler
// runs every minute (EventBridge schedule) and on deployment:
// - it lists the identity pool's identities and keeps those with a login from OUR user pool
//   (unauthenticated identities are disabled on the pool anyway);
// - attaches `console` to each that lacks it;
// - detaches it from identity ids that are no longer in the pool (deleted identities).
// Targets that are not Cognito identity ids (certificates) are never touched.
// The browser cannot attach anything itself: its role has no iot:AttachPolicy, which would let
// any signed-in browser attach policies to arbitrary principals.

export interface Identity {
  identityId: string;
  logins: string[];
}

export interface ConsolePolicyPorts {
  listIdentities(identityPoolId: string): Promise<Identity[]>;
  listTargetsForPolicy(policyName: string): Promise<string[]>;
  attachPolicy(policyName: string, target: string): Promise<void>;
  detachPolicy(policyName: string, target: string): Promise<void>;
}

export interface ReconcileResult {
  attached: string[];
  detached: string[];
  kept: string[];
}

const IDENTITY_ID = /^[a-z]{2}(-[a-z]+)+-[0-9]:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isIdentityId(target: string): boolean {
  return IDENTITY_ID.test(target);
}

export async function reconcileConsolePolicy(identityPoolId: string, userPoolProvider: string, policyName: string,
  ports: ConsolePolicyPorts): Promise<ReconcileResult> {
  const identities = await ports.listIdentities(identityPoolId);
  const wanted = new Set(identities.filter((i) => i.logins.includes(userPoolProvider) && isIdentityId(i.identityId))
    .map((i) => i.identityId));
  const present = (await ports.listTargetsForPolicy(policyName)).filter(isIdentityId);
  const result: ReconcileResult = { attached: [], detached: [], kept: [] };
  for (const id of wanted) {
    if (present.includes(id)) {
      result.kept.push(id);
    } else {
      await ports.attachPolicy(policyName, id);
      result.attached.push(id);
    }
  }
  for (const id of present) {
    if (!wanted.has(id)) {
      await ports.detachPolicy(policyName, id);
      result.detached.push(id);
    }
  }
  return result;
}
