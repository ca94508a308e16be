{{/*
Reading pull secrets (rbac.readPullSecrets), for the webhook and the background
verifier alike: a private image is verified with the credentials the kubelet
pulls it with, and a credential is only ever sent to the registry host it names.
Only "get": enforce reads a Secret when a pod (or its service account) names it,
and can never enumerate Secrets. The names cannot be pinned with resourceNames:
every namespace names its own pull secrets in its own pods. What can be narrowed
is where: rbac.pullSecretNamespaces grants it in those namespaces only.
*/}}
{{- define "signet-enforce.pullSecretRuleList" -}}
# The pod's service account, to find its imagePullSecrets.
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get"]
# The pull secrets named by the pod or its service account.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- end -}}

{{/* The cluster-wide grant, inside each ClusterRole, when no namespaces are listed. */}}
{{- define "signet-enforce.pullSecretRules" -}}
{{- if and .Values.rbac.readPullSecrets (not .Values.rbac.pullSecretNamespaces) -}}
{{ include "signet-enforce.pullSecretRuleList" . }}
{{- end -}}
{{- end -}}

{{/* The grant per listed namespace: one Role and RoleBinding there, for both service accounts. */}}
{{- define "signet-enforce.pullSecretRoles" -}}
{{- if .Values.rbac.readPullSecrets -}}
{{- $root := . -}}
{{- $name := printf "%s-pull-secrets" (include "signet-enforce.fullname" .) -}}
{{- range $ns := .Values.rbac.pullSecretNamespaces }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ $name }}
  namespace: {{ $ns }}
  labels:
    {{- include "signet-enforce.labels" $root | nindent 4 }}
rules:
  {{- include "signet-enforce.pullSecretRuleList" $root | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $name }}
  namespace: {{ $ns }}
  labels:
    {{- include "signet-enforce.labels" $root | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ include "signet-enforce.serviceAccountName" $root }}
    namespace: {{ $root.Release.Namespace }}
  {{- if $root.Values.backgroundScan.enabled }}
  - kind: ServiceAccount
    name: {{ include "signet-enforce.scannerServiceAccountName" $root }}
    namespace: {{ $root.Release.Namespace }}
  {{- end }}
{{- end }}
{{- end -}}
{{- end -}}
