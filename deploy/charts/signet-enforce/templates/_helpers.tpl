{{/* Full name: release-chart, truncated to the 63 characters of a DNS label. */}}
{{- define "signet-enforce.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "signet-enforce.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
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

{{- define "signet-enforce.tlsSecretName" -}}
{{- printf "%s-tls" (include "signet-enforce.fullname" .) -}}
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

{{- define "signet-enforce.validate" -}}
{{- $timeout := int .Values.webhook.timeoutSeconds -}}
{{- if or (lt $timeout 1) (gt $timeout 30) -}}
{{- fail "webhook.timeoutSeconds must be between 1 and 30" -}}
{{- end -}}
{{- if ge (int .Values.enforce.deadlineSeconds) $timeout -}}
{{- fail "enforce.deadlineSeconds must be lower than webhook.timeoutSeconds, or the apiserver times out before enforce can explain its denial" -}}
{{- end -}}
{{- end -}}
