{{/* enforce serve flags of the background verifier (values: backgroundScan). */}}
{{- define "signet-enforce.backgroundArgs" -}}
- --background-scan=true
- --scan-interval={{ .Values.backgroundScan.interval }}
- --scan-max-age={{ .Values.backgroundScan.maxAge }}
- --scan-concurrency={{ .Values.backgroundScan.concurrency }}
- --lease-namespace={{ .Release.Namespace }}
- --lease-name=signet-enforce-scanner
{{- end -}}
