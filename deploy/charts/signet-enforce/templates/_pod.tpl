{{/*
The pod of enforce serve, shared by the webhook and the background verifier
(each its own Deployment and service account). Called with (dict "root" $
"serviceAccount" "<name>" "args" "<extra args, a YAML list>" "resources" {...}
"affinity" "<YAML or empty>" "preStop" true/false).
*/}}
{{- define "signet-enforce.podSpec" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
serviceAccountName: {{ .serviceAccount }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: {{ $v.runAsUser }}
  runAsGroup: {{ $v.runAsUser }}
  fsGroup: {{ $v.runAsUser }}
  seccompProfile:
    type: RuntimeDefault
{{- with .affinity }}
affinity:
  {{- . | nindent 2 }}
{{- end }}
{{- with $v.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: enforce
    image: {{ include "signet-enforce.image" $root }}
    imagePullPolicy: {{ $v.image.pullPolicy }}
    args:
      - serve
      - --policy={{ include "signet-enforce.policyPath" $root }}
      - --tls-cert=/tls/tls.crt
      - --tls-key=/tls/tls.key
      {{- if include "signet-enforce.clientAuthEnabled" $root }}
      # Only the apiserver, with a client certificate this CA signed, may call the webhook.
      - --client-ca-file=/client-ca/ca.crt
      {{- end }}
      - --listen=:8443
      - --ops-listen=:9090
      - --deadline={{ $v.enforce.deadlineSeconds }}s
      - --registry-concurrency={{ $v.enforce.registryConcurrency }}
      - --reload-interval={{ $v.enforce.reloadInterval }}
      - --cache-ttl={{ $v.enforce.cache.ttl }}
      - --negative-cache-ttl={{ $v.enforce.cache.negativeTTL }}
      - --cache-size={{ $v.enforce.cache.size }}
      {{- include "signet-enforce.cloudRegistryArgs" $root | nindent 6 }}
      {{- if $v.registries }}
      # Mirrors, CA bundles and plain-HTTP permissions (values: registries).
      - --registries=/etc/signet-registries/registries.yaml
      {{- end }}
      {{- .args | nindent 6 }}
      {{- if $v.enforce.offline }}
      - --offline
      {{- end }}
      {{- range $v.enforce.extraArgs }}
      - {{ . | quote }}
      {{- end }}
    env:
      # The TUF cache of the Sigstore trusted root lives under the user
      # cache dir; the root filesystem is read-only.
      - name: XDG_CACHE_HOME
        value: /cache
      {{- if and .verdicts $v.node.verdictSecret }}
      # Sign a verdict onto each pod admitted outright, for signet-node.
      - name: SIGNET_VERDICT_KEY
        valueFrom:
          secretKeyRef: {name: {{ $v.node.verdictSecret }}, key: verdict.key}
      {{- end }}
      {{- if $v.registryCredentials.existingSecret }}
      # enforce's own registry credentials (the Docker config Secret), after
      # a pod's pull secrets; re-read on each use, so a rotation needs no restart.
      - name: DOCKER_CONFIG
        value: /docker
      {{- end }}
      {{- with $v.enforce.extraEnv }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    ports:
      - name: webhook
        containerPort: 8443
        protocol: TCP
      - name: ops
        containerPort: 9090
        protocol: TCP
    livenessProbe:
      httpGet: {path: /healthz, port: ops}
      periodSeconds: 10
      failureThreshold: 3
    readinessProbe:
      httpGet: {path: /readyz, port: ops}
      periodSeconds: 5
      failureThreshold: 2
    {{- if .preStop }}
    {{- with $v.preStopSleepSeconds }}
    # Keep answering while the pod leaves the Service's endpoints: the
    # apiserver may still pick it for a moment after it starts terminating.
    lifecycle:
      preStop:
        sleep:
          seconds: {{ . }}
    {{- end }}
    {{- end }}
    securityContext:
      runAsNonRoot: true
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      privileged: false
      capabilities:
        drop: ["ALL"]
      seccompProfile:
        type: RuntimeDefault
    resources:
      {{- toYaml .resources | nindent 6 }}
    volumeMounts:
      # Whole-directory mounts (no subPath), so ConfigMap and Secret
      # updates reach the files enforce reloads.
      - name: trust
        mountPath: /etc/signet
        readOnly: true
      - name: tls
        mountPath: /tls
        readOnly: true
      {{- if include "signet-enforce.clientAuthEnabled" $root }}
      - name: client-ca
        mountPath: /client-ca
        readOnly: true
      {{- end }}
      {{- if $v.registries }}
      - name: registries
        mountPath: /etc/signet-registries
        readOnly: true
      {{- end }}
      {{- if $v.registryCredentials.existingSecret }}
      - name: docker-config
        mountPath: /docker
        readOnly: true
      {{- end }}
      - name: cache
        mountPath: /cache
      - name: tmp
        mountPath: /tmp
      {{- with $v.enforce.extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  {{- include "signet-enforce.trustVolume" (dict "root" $root "configMap" (include "signet-enforce.configMapName" $root)) | nindent 2 }}
  - name: tls
    secret:
      secretName: {{ include "signet-enforce.tlsSecretName" $root }}
      defaultMode: 0440
  {{- with $v.webhook.clientAuth }}
  {{- if .caBundle }}
  - name: client-ca
    configMap:
      name: {{ include "signet-enforce.fullname" $root }}-client-ca
  {{- else if .existingSecret }}
  # Only ca.crt: a CA's Secret may also hold its private key, which enforce
  # must never see.
  - name: client-ca
    secret:
      secretName: {{ .existingSecret }}
      items:
        - key: ca.crt
          path: ca.crt
  {{- end }}
  {{- end }}
  {{- if $v.registries }}
  - name: registries
    configMap:
      name: {{ include "signet-enforce.fullname" $root }}-registries
  {{- end }}
  {{- with $v.registryCredentials.existingSecret }}
  # Only the Docker config, as config.json.
  - name: docker-config
    secret:
      secretName: {{ . }}
      items:
        - key: .dockerconfigjson
          path: config.json
  {{- end }}
  - name: cache
    emptyDir:
      sizeLimit: 64Mi
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
  {{- with $v.enforce.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* Spread the webhook's replicas over nodes, so losing one node leaves the webhook up. */}}
{{- define "signet-enforce.spreadReplicas" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "signet-enforce.selectorLabels" . | nindent 12 }}
{{- end -}}

{{/*
The flags that name the registry hosts the process's own cloud identity may
get a token for (enforce.cloudRegistries), for enforce serve and signet-node:
a YAML list, empty when none is listed.
*/}}
{{- define "signet-enforce.cloudRegistryArgs" -}}
{{- with .Values.enforce.cloudRegistries }}
{{- with .google }}
- --google-registries={{ join "," . }}
{{- end }}
{{- with .ecr }}
- --ecr-registries={{ join "," . }}
{{- end }}
{{- with .acr }}
- --acr-registries={{ join "," . }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The pods' annotations: podAnnotations, and the registries file's checksum
(enforce reads it at start, so a change rolls the pods; the trust file and
the Docker config are re-read in place and have none).
*/}}
{{- define "signet-enforce.podAnnotations" -}}
{{- $a := deepCopy (.Values.podAnnotations | default dict) -}}
{{- with include "signet-enforce.registriesChecksum" . -}}
{{- $_ := set $a "checksum/registries" . -}}
{{- end -}}
{{- with $a }}{{ toYaml . }}{{ end -}}
{{- end -}}

{{/* The registries file's checksum, for the pods that read it (none without registries). */}}
{{- define "signet-enforce.registriesChecksum" -}}
{{- if .Values.registries }}{{ include "signet-enforce.registriesData" . | sha256sum }}{{ end -}}
{{- end -}}

{{/*
The registries ConfigMap's data: registries.yaml as enforce serve
--registries reads it, and each entry's CA bundle as ca-<index>.crt beside
it. An http mirror needs plainHTTP: true, as enforce would refuse it.
*/}}
{{- define "signet-enforce.registriesData" -}}
{{- $entries := list -}}
{{- $files := dict -}}
{{- range $i, $r := .Values.registries -}}
{{- $e := dict "host" $r.host -}}
{{- with $r.mirror -}}
{{- if and (hasPrefix "http://" .) (not $r.plainHTTP) -}}
{{- fail (printf "registries[%d]: mirror %s is plain HTTP: set plainHTTP: true for %s to allow it" $i . $r.host) -}}
{{- end -}}
{{- $_ := set $e "mirror" . -}}
{{- end -}}
{{- if $r.plainHTTP }}{{ $_ := set $e "plainHTTP" true }}{{ end -}}
{{- with $r.caBundle -}}
{{- if not (contains "-----BEGIN CERTIFICATE-----" .) -}}
{{- fail (printf "registries[%d].caBundle must be PEM (-----BEGIN CERTIFICATE-----): the CA that signed %s's certificate" $i $r.host) -}}
{{- end -}}
{{- $file := printf "ca-%d.crt" $i -}}
{{- $_ := set $e "caFile" $file -}}
{{- $_ := set $files $file . -}}
{{- end -}}
{{- $entries = append $entries $e -}}
{{- end -}}
registries.yaml: {{ dict "registries" $entries | toYaml | toJson }}
{{- range $name, $content := $files }}
{{ $name }}: {{ $content | toJson }}
{{- end }}
{{- end -}}
