// Package deploy holds signet-enforce's Helm chart (charts/signet-enforce) and
// the tests that keep it honest: helm lint, the rendered objects decoded
// strictly into Kubernetes types and checked for the properties the webhook
// depends on (fail closed, excluded namespaces, a non-root read-only pod,
// least-privilege RBAC, TLS wiring), and the same objects created on a real
// kube-apiserver. It has no non-test code: the chart is the product.
package deploy
