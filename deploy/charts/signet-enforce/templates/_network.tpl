{{/*
The ops port's ingress rule: only networkPolicy.ops.from (empty: no rule, so
only the node, i.e. the kubelet's probes, reaches it).
*/}}
{{- define "signet-enforce.opsIngress" -}}
{{- with .Values.networkPolicy.ops.from -}}
- ports:
    - {port: ops, protocol: TCP}
  from:
    {{- toYaml . | nindent 4 }}
{{- end -}}
{{- end -}}
