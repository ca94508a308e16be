{{/*
Alerts on what must always run: a ready webhook replica (while none is, no pod
can be created outside the excluded namespaces) and the background verifier
(without it, nothing reports what runs). A replica that is down exports
nothing, so "no ready replica" comes from kube-state-metrics and, with the
chart's ServiceMonitor, from Prometheus' own up series. Scoped by namespace
(and job), as the ServiceMonitor's targets are labelled.
*/}}
{{- define "signet-enforce.availabilityAlerts" -}}
{{- $r := .Values.metrics.prometheusRule -}}
{{- $ns := .Release.Namespace -}}
{{- $fullname := include "signet-enforce.fullname" . -}}
- alert: SignetWebhookNoReadyReplica
  expr: >-
    max(kube_deployment_status_replicas_available{namespace="{{ $ns }}", deployment="{{ $fullname }}"}) < 1
    {{- if .Values.metrics.serviceMonitor.enabled }}
    or absent(up{namespace="{{ $ns }}", job="{{ $fullname }}-metrics"} == 1)
    {{- end }}
  for: {{ $r.noReadyReplicaFor }}
  labels: {severity: critical}
  annotations:
    {{- if include "signet-enforce.failsOpen" . }}
    summary: "No signet webhook replica is ready: pods are admitted UNVERIFIED (failurePolicy Ignore)"
    {{- else }}
    summary: "No signet webhook replica is ready: no pod can be created outside the excluded namespaces"
    {{- end }}
    description: >-
      The webhooks' failurePolicy is {{ .Values.webhook.failurePolicy }}. `kubectl -n {{ $ns }} get pods,events`
      shows why the enforce pods are not ready (a trust file enforce refuses at start, an
      image that cannot be pulled, no node to run on). The release namespace and
      kube-system are never sent to the webhooks, so enforce itself can always start.
{{- if include "signet-enforce.failsOpen" . }}
- alert: SignetWebhookFailsOpen
  # Fires for as long as the chart says failurePolicy: Ignore: a standing
  # reminder that an outage admits unverified images, not a transient.
  expr: vector(1)
  labels: {severity: warning, namespace: {{ $ns | quote }}}
  annotations:
    summary: "signet's webhooks fail open (failurePolicy: Ignore): while no replica answers, images are admitted unverified"
    description: >-
      webhook.failurePolicy is Ignore in release {{ .Release.Name }}: whenever enforce does not
      answer within {{ .Values.webhook.timeoutSeconds }}s the apiserver admits Pods and workloads
      without verifying or pinning their images. `kubectl get polr -A` (the background verifier)
      shows what ran. Set webhook.failurePolicy=Fail to fail closed.
{{- end }}
{{- if .Values.backgroundScan.enabled }}
- alert: SignetScannerNoLeader
  expr: (sum(signet_scan_leader{namespace="{{ $ns }}"}) or on() vector(0)) < 1
  for: {{ $r.noLeaderFor }}
  labels: {severity: warning}
  annotations:
    summary: "No signet background verifier holds its Lease: running pods are not being checked"
    description: >-
      No {{ include "signet-enforce.scannerName" . }} replica reports leading (signet_scan_leader):
      PolicyReports go stale and pods started before a trust file change are not re-checked.
      `kubectl -n {{ $ns }} get pods,lease` and the scanner's log say why.
- alert: SignetScanOverdue
  # Someone led for the whole window, and no pass finished in it: neither a
  # pass counter increased nor a new one (a new leader's first pass) appeared.
  expr: >-
    min_over_time((sum(signet_scan_leader{namespace="{{ $ns }}"}) or on() vector(0))[{{ $r.scanOverdue }}:1m]) >= 1
    unless on()
    (
      sum(increase(signet_scan_duration_seconds_count{namespace="{{ $ns }}"}[{{ $r.scanOverdue }}])) > 0
      or on()
      count(signet_scan_duration_seconds_count{namespace="{{ $ns }}"} unless signet_scan_duration_seconds_count{namespace="{{ $ns }}"} offset {{ $r.scanOverdue }}) > 0
    )
  for: 5m
  labels: {severity: warning}
  annotations:
    summary: "signet's background verifier finished no pass in {{ $r.scanOverdue }}"
    description: >-
      A replica holds the Lease but no verification pass over the running pods has
      finished (signet_scan_duration_seconds_count): a pass is stuck, or slower than
      backgroundScan.interval allows. PolicyReports show an old state.
{{- end }}
{{- end -}}
