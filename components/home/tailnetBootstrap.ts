/**
 * How long the subnet router's single-use key stays valid: long enough for the Deployment, which waits for the Job, to
 * start and log in once. The node's state on its claim (TS_AUTH_ONCE) carries it from then on, so a restart needs no key.
 */
const ROUTER_KEY_EXPIRATION = "24h";

export interface BootstrapSpec {
  headscaleNamespace: string;
  /** The StatefulSet's pod, whose name is stable, so RBAC can name it. */
  headscalePod: string;
  /** The Headscale user the router registers as. */
  user: string;
  secretNamespace: string;
  secretName: string;
  /** Seconds between attempts while Headscale starts; 60 attempts in all. */
  retrySeconds: number;
}

/** Shell-quotes a value for a POSIX sh assignment. */
const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * The Job's script: the official Headscale image has no shell, so the CLI runs inside its pod through `kubectl exec`.
 * It creates the router's user, looks up its numeric id (which `preauthkeys create --user` takes), creates a single-use
 * key that expires in a day and writes it into the Secret the program created empty. It does nothing once the Secret holds a key,
 * so a rerun never mints a second one.
 */
export function renderBootstrapScript(spec: BootstrapSpec): string {
  return `#!/bin/sh
set -eu
HEADSCALE_NAMESPACE=${quote(spec.headscaleNamespace)}
HEADSCALE_POD=${quote(spec.headscalePod)}
ROUTER_USER=${quote(spec.user)}
SECRET_NAMESPACE=${quote(spec.secretNamespace)}
SECRET_NAME=${quote(spec.secretName)}

hs() { kubectl --namespace "$HEADSCALE_NAMESPACE" exec "$HEADSCALE_POD" --container headscale -- headscale "$@"; }
# A server with no users lists null, not [].
user_id() { hs users list --output json | jq -r --arg name "$ROUTER_USER" '(. // [])[] | select(.name == $name) | .id'; }

existing=$(kubectl --namespace "$SECRET_NAMESPACE" get secret "$SECRET_NAME" --output 'jsonpath={.data.authkey}')
if [ -n "$existing" ]; then
  echo "$SECRET_NAMESPACE/$SECRET_NAME already holds the router's key"
  exit 0
fi

attempt=1
until hs users list --output json >/dev/null 2>&1; do
  if [ "$attempt" -ge 60 ]; then echo "Headscale did not answer in $HEADSCALE_NAMESPACE/$HEADSCALE_POD" >&2; exit 1; fi
  attempt=$((attempt + 1))
  sleep ${spec.retrySeconds}
done

[ -n "$(user_id)" ] || hs users create "$ROUTER_USER" >/dev/null
id=$(user_id)
if [ -z "$id" ]; then echo "Headscale has no user $ROUTER_USER after creating it" >&2; exit 1; fi
key=$(hs preauthkeys create --user "$id" --expiration ${ROUTER_KEY_EXPIRATION} --output json | jq -r '.key // empty')
if [ -z "$key" ]; then echo "Headscale returned no pre-auth key" >&2; exit 1; fi
kubectl --namespace "$SECRET_NAMESPACE" patch secret "$SECRET_NAME" --type merge --patch "{\\"stringData\\":{\\"authkey\\":\\"$key\\"}}" >/dev/null
echo "wrote the router's key to $SECRET_NAMESPACE/$SECRET_NAME"
`;
}
