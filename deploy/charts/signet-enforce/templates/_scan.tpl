{{/* enforce serve flags of the background verifier (values: backgroundScan). */}}
{{- define "signet-enforce.backgroundArgs" -}}
- --background-scan={{ .Values.backgroundScan.enabled }}
{{- if .Values.backgroundScan.enabled }}
- --scan-interval={{ .Values.backgroundScan.interval }}
- --scan-max-age={{ .Values.backgroundScan.maxAge }}
- --scan-concurrency={{ .Values.backgroundScan.concurrency }}
- --lease-namespace={{ .Release.Namespace }}
- --lease-name=signet-enforce-scanner
{{- end }}
{{- end -}}
