/**
 * An annotation for a webhook configuration whose CA cert-manager's cainjector fills in: Pulumi counts the object as
 * ready only once `caBundle` exists (pulumi-kubernetes provider/pkg/metadata/overrides.go ReadyCondition; a jsonpath
 * without a value waits until the field exists). Until then the API server cannot call the webhook, and a
 * `failurePolicy: Fail` webhook refuses every object it guards. Charts gate on this with Helm hooks, which
 * helm.v4.Chart never runs.
 */
export const WEBHOOK_CA_INJECTED = { "pulumi.com/waitFor": "jsonpath={.webhooks[0].clientConfig.caBundle}" };
