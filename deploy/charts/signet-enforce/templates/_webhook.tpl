{{/*
One webhook entry, shared by the mutating and the validating configuration so
both see exactly the same objects. Called with (dict "root" $ "name" "..."
"path" "/mutate" "caBundle" "<base64 PEM or empty>").
*/}}
{{- define "signet-enforce.webhook" -}}
{{- $root := .root -}}
- name: {{ .name }}
  admissionReviewVersions: ["v1"]
  clientConfig:
    service:
      name: {{ include "signet-enforce.fullname" $root }}
      namespace: {{ $root.Release.Namespace }}
      path: {{ .path }}
      port: 443
    {{- with .caBundle }}
    caBundle: {{ . }}
    {{- end }}
  # Fail closed (the default): an image nobody verified never runs; keep
  # replicas available. Ignore admits every object, unverified, while no
  # replica answers in time (SignetWebhookFailsOpen fires all along).
  failurePolicy: {{ $root.Values.webhook.failurePolicy }}
  # enforce only reads and records Events; dry-run requests are safe to send.
  sideEffects: None
  timeoutSeconds: {{ int $root.Values.webhook.timeoutSeconds }}
  matchPolicy: Equivalent
  namespaceSelector:
    matchExpressions:
      # The namespace's immutable name label (set by the apiserver, so a
      # tenant cannot opt out by labelling its own namespace).
      - key: kubernetes.io/metadata.name
        operator: NotIn
        values: {{ include "signet-enforce.excludedNamespaces" $root }}
  rules:
    # Every kind that carries a pod template, and ephemeral containers
    # (kubectl debug), which reach pods through a subresource.
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["pods", "pods/ephemeralcontainers", "replicationcontrollers"]
      scope: Namespaced
    - apiGroups: ["apps"]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["deployments", "replicasets", "statefulsets", "daemonsets"]
      scope: Namespaced
    - apiGroups: ["batch"]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["jobs", "cronjobs"]
      scope: Namespaced
{{- end -}}
