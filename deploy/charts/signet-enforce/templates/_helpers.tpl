{{/* The chart's name, or nameOverride: the app.kubernetes.io/name of its pods. */}}
{{- define "signet-enforce.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name: fullnameOverride, or release-name (the name alone when the release
name contains it), truncated to the 63 characters of a DNS label. Every
object, the webhooks' Service and the TLS certificate's DNS names follow it.
*/}}
{{- define "signet-enforce.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "signet-enforce.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "signet-enforce.selectorLabels" -}}
app.kubernetes.io/name: {{ include "signet-enforce.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "signet-enforce.labels" -}}
{{ include "signet-enforce.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "signet-enforce.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "signet-enforce.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The background verifier runs in its own Deployment, apart from the webhook,
so that each has its own service account with only what it needs: the
scanner lists and watches every pod and writes reports, the webhook does not.
*/}}
{{- define "signet-enforce.scannerName" -}}
{{- printf "%s-scanner" (include "signet-enforce.fullname" . | trunc 55 | trimSuffix "-") -}}
{{- end -}}

{{- define "signet-enforce.scannerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "signet-enforce.name" . | trunc 55 | trimSuffix "-" }}-scanner
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "signet-enforce.scannerServiceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "signet-enforce.scannerName" .) .Values.serviceAccount.scannerName -}}
{{- else -}}
{{- required "serviceAccount.scannerName is required when serviceAccount.create is false and backgroundScan.enabled" .Values.serviceAccount.scannerName -}}
{{- end -}}
{{- end -}}

{{- define "signet-enforce.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "signet-enforce.fullname" .)) .Values.tls.existingSecret -}}
{{- end -}}

{{/*
Where the serving certificate comes from: "certManager", "existingSecret"
(a Secret the user keeps, and its CA as a value: the only mode besides
cert-manager whose render is the same on every `helm template`), or
"generated" (genCA, reused on upgrade through lookup: needs a live helm).
*/}}
{{- define "signet-enforce.tlsMode" -}}
{{- if .Values.tls.certManager.enabled }}certManager{{ else if .Values.tls.existingSecret }}existingSecret{{ else }}generated{{ end -}}
{{- end -}}

{{- define "signet-enforce.validateTLS" -}}
{{- with .Values.tls -}}
{{- if and .certManager.enabled .existingSecret -}}
{{- fail "tls: set certManager.enabled or existingSecret, not both" -}}
{{- end -}}
{{- if and .existingSecret (not (contains "-----BEGIN CERTIFICATE-----" .caBundle)) -}}
{{- fail (printf "tls.existingSecret %s needs tls.caBundle: the PEM CA certificate that signed its tls.crt (-----BEGIN CERTIFICATE-----), which the apiserver is told to trust" .existingSecret) -}}
{{- end -}}
{{- if and .caBundle (not .existingSecret) -}}
{{- fail "tls.caBundle is only used with tls.existingSecret (the generated and cert-manager modes write the CA themselves)" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "signet-enforce.configMapName" -}}
{{- default (include "signet-enforce.fullname" .) .Values.existingConfigMap -}}
{{- end -}}

{{- define "signet-enforce.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
The parsed inline trust file, as JSON (an empty object with existingConfigMap).
Invalid YAML fails the render here rather than at the webhook's first reload.
*/}}
{{- define "signet-enforce.trust" -}}
{{- if .Values.existingConfigMap -}}
{}
{{- else -}}
{{- $trust := required "trustPolicy or existingConfigMap is required" .Values.trustPolicy | fromYaml -}}
{{- if hasKey $trust "Error" -}}
{{- fail (printf "trustPolicy is not valid YAML: %s" $trust.Error) -}}
{{- end -}}
{{- $trust | toJson -}}
{{- end -}}
{{- end -}}

{{/*
Namespaces excluded from both webhooks: kube-system, the release namespace
(so the webhook never blocks its own pods), exemptNamespaces and the inline
trust file's enforcement.namespaces.exempt. Sorted for stable renders.
*/}}
{{- define "signet-enforce.excludedNamespaces" -}}
{{- $trust := include "signet-enforce.trust" . | fromJson -}}
{{- $fromTrust := list -}}
{{- with $trust.enforcement -}}{{- with .namespaces -}}{{- with .exempt -}}
{{- $fromTrust = . -}}
{{- end -}}{{- end -}}{{- end -}}
{{- concat (list "kube-system" .Release.Namespace) .Values.exemptNamespaces $fromTrust | uniq | sortAlpha | toJson -}}
{{- end -}}

{{/*
The trust ConfigMap's data: trust.yaml and the keys map, each a JSON string so
files stay byte for byte (comments, final newline).
*/}}
{{- define "signet-enforce.trustData" -}}
trust.yaml: {{ .Values.trustPolicy | toJson }}
{{- range $name, $content := .Values.keys }}
{{ $name }}: {{ $content | toJson }}
{{- end }}
{{- end -}}

{{/* The trust file's key in the trust ConfigMap, and so its file name in /etc/signet. */}}
{{- define "signet-enforce.trustKey" -}}
{{- if .Values.existingConfigMap }}{{ .Values.existingConfigMapKey }}{{ else }}trust.yaml{{ end -}}
{{- end -}}

{{/* The trust file as enforce reads it (--policy). */}}
{{- define "signet-enforce.policyPath" -}}
{{- printf "/etc/signet/%s" (include "signet-enforce.trustKey" .) -}}
{{- end -}}

{{/*
The trust volume, mounted at /etc/signet: the whole ConfigMap, every key a
file. No items: a key file added later (kubectl edit, the keys map, a GitOps
change of existingConfigMap) is in the pod as soon as the trust ConfigMap
webhook has accepted it, and a key removed from the ConfigMap never leaves a
projected item pointing at nothing (which keeps new pods in ContainerCreating).
Called with (dict "root" $ "configMap" "<name>").
*/}}
{{- define "signet-enforce.trustVolume" -}}
- name: trust
  configMap:
    name: {{ .configMap }}
{{- end -}}

{{/*
Every file the inline trust file names by path must be in the keys map (or be
one of its file names under /etc/signet): nothing else is in the pod.
*/}}
{{- define "signet-enforce.validateKeys" -}}
{{- $trust := include "signet-enforce.trust" . | fromJson -}}
{{- $paths := list -}}
{{- range $i, $id := $trust.identities | default list -}}
{{- with $id.key -}}{{- with .path -}}{{- $paths = append $paths (list (printf "identities[%d].key.path" $i) .) -}}{{- end -}}{{- end -}}
{{- end -}}
{{- with $trust.sigstore -}}{{- with .trustedRoot -}}{{- if ne . "public-good" -}}
{{- $paths = append $paths (list "sigstore.trustedRoot" .) -}}
{{- end -}}{{- end -}}{{- end -}}
{{- if hasKey .Values.keys "trust.yaml" -}}
{{- fail "keys: trust.yaml is the trust file itself (trustPolicy); name key files differently" -}}
{{- end -}}
{{- range $paths -}}
{{- $field := index . 0 -}}
{{- $path := index . 1 -}}
{{- $dir := dir $path -}}
{{- if not (or (eq $dir ".") (eq $dir "/etc/signet")) -}}
{{- fail (printf "trustPolicy %s: %s is outside /etc/signet; put the file in the keys map (--set-file 'keys.%s=%s') and name it %s" $field $path (base $path | replace "." "\\.") $path (base $path)) -}}
{{- end -}}
{{- if not (hasKey $.Values.keys (base $path)) -}}
{{- fail (printf "trustPolicy %s: %s is not in the keys map; add it with --set-file 'keys.%s=%s' so it is mounted beside trust.yaml" $field $path (base $path | replace "." "\\.") $path) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "signet-enforce.validate" -}}
{{- include "signet-enforce.validateNamespace" . -}}
{{- include "signet-enforce.validateKeys" . -}}
{{- include "signet-enforce.validateClientAuth" . -}}
{{- include "signet-enforce.validateTLS" . -}}
{{- if not (has .Values.webhook.failurePolicy (list "Fail" "Ignore")) -}}
{{- fail (printf "webhook.failurePolicy must be Fail or Ignore, got %q" .Values.webhook.failurePolicy) -}}
{{- end -}}
{{- $timeout := int .Values.webhook.timeoutSeconds -}}
{{- if or (lt $timeout 1) (gt $timeout 30) -}}
{{- fail "webhook.timeoutSeconds must be between 1 and 30" -}}
{{- end -}}
{{- if ge (int .Values.enforce.deadlineSeconds) $timeout -}}
{{- fail "enforce.deadlineSeconds must be lower than webhook.timeoutSeconds, or the apiserver times out before enforce can explain its denial" -}}
{{- end -}}
{{- end -}}

{{/*
The release namespace is never sent to the webhooks (the webhook must be able
to start its own pods while no replica runs), so whoever may create a Pod
there runs any image. "default" is where `helm install` without -n puts a
release, and where most people may create pods: refuse it.
*/}}
{{- define "signet-enforce.validateNamespace" -}}
{{- if eq .Release.Namespace "default" -}}
{{- fail "signet-enforce refuses the default namespace: its own namespace is exempt from image verification (the webhook must be able to start its own pods), so anyone who may create a Pod there could run an unsigned image. Install it in a dedicated namespace that only cluster admins can create pods in: helm install ... -n signet-system --create-namespace" -}}
{{- end -}}
{{- end -}}

{{/*
The apiserver's client certificate CA (webhook.clientAuth): at most one source,
and PEM, or enforce would refuse every call, the apiserver's included.
*/}}
{{- define "signet-enforce.validateClientAuth" -}}
{{- with .Values.webhook.clientAuth -}}
{{- if and .caBundle .existingSecret -}}
{{- fail "webhook.clientAuth: set caBundle or existingSecret, not both" -}}
{{- end -}}
{{- if and .caBundle (not (contains "-----BEGIN CERTIFICATE-----" .caBundle)) -}}
{{- fail "webhook.clientAuth.caBundle must be PEM (-----BEGIN CERTIFICATE-----): the CA that signs the apiserver's webhook client certificate" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "signet-enforce.clientAuthEnabled" -}}
{{- if or .Values.webhook.clientAuth.caBundle .Values.webhook.clientAuth.existingSecret }}true{{ end -}}
{{- end -}}

{{/* The image webhooks admit what they cannot decide (webhook.failurePolicy Ignore). */}}
{{- define "signet-enforce.failsOpen" -}}
{{- if eq .Values.webhook.failurePolicy "Ignore" }}true{{ end -}}
{{- end -}}
