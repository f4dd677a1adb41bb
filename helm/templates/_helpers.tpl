{{/* Names ------------------------------------------------------------------------------- */}}

{{- define "mrs.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: the release name when it already holds the chart name. */}}
{{- define "mrs.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels: call with (dict "root" $ "component" "user-service-web") ------------------------ */}}
{{- define "mrs.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mrs.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "mrs.labels" -}}
{{ include "mrs.selectorLabels" . }}
app.kubernetes.io/part-of: meeting-room-system
app.kubernetes.io/version: {{ .root.Values.imageTag | default .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Images ------------------------------------------------------------------------------ */}}
{{- define "mrs.serviceImage" -}}
{{- printf "%s/%s:%s" (.root.Values.image.registry | trimSuffix "/") .service.image.repository (.root.Values.imageTag | default .root.Chart.AppVersion) -}}
{{- end -}}

{{/* The gateway image (docker/gateway/Dockerfile: NGINX with the web app): ours, like the services'. */}}
{{- define "mrs.gatewayImage" -}}
{{- $image := .Values.nginx.image -}}
{{- printf "%s/%s:%s" (.Values.image.registry | trimSuffix "/") $image.repository ($image.tag | default .Values.imageTag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* imagePullPolicy of our images: a line only when image.pullPolicy is set (else Kubernetes decides). */}}
{{- define "mrs.imagePullPolicy" -}}
{{- with .Values.image.pullPolicy }}
imagePullPolicy: {{ . }}
{{- end }}
{{- end -}}

{{- define "mrs.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Security: call with (dict "root" $ "uid" 10001) ---------------------------------------- */}}
{{- define "mrs.podSecurityContext" -}}
{{- $ids := dict "runAsUser" (int .uid) "runAsGroup" (int .uid) "fsGroup" (int .uid) -}}
{{- toYaml (merge $ids (deepCopy .root.Values.podSecurityContext)) -}}
{{- end -}}

{{- define "mrs.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext -}}
{{- end -}}

{{- define "mrs.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "mrs.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* Where things are --------------------------------------------------------------------- */}}
{{- define "mrs.postgresHost" -}}
{{- if .Values.postgresql.enabled -}}
{{- printf "%s-postgresql" (include "mrs.fullname" .) -}}
{{- else -}}
{{- required "externalDatabase.host is required when postgresql.enabled is false" .Values.externalDatabase.host -}}
{{- end -}}
{{- end -}}

{{- define "mrs.postgresPort" -}}
{{- ternary 5432 .Values.externalDatabase.port .Values.postgresql.enabled -}}
{{- end -}}

{{- define "mrs.postgresSslmode" -}}
{{- ternary "disable" .Values.externalDatabase.sslmode .Values.postgresql.enabled -}}
{{- end -}}

{{- define "mrs.kafkaHeadless" -}}
{{- printf "%s-kafka-headless" (include "mrs.fullname" .) -}}
{{- end -}}

{{- define "mrs.kafkaBootstrap" -}}
{{- if .Values.kafka.enabled -}}
{{- printf "%s-kafka:9092" (include "mrs.fullname" .) -}}
{{- else -}}
{{- required "externalKafka.bootstrapServers is required when kafka.enabled is false" .Values.externalKafka.bootstrapServers -}}
{{- end -}}
{{- end -}}

{{/* Secrets ------------------------------------------------------------------------------ */}}
{{- define "mrs.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "mrs.fullname" .)) -}}
{{- end -}}

{{- define "mrs.googleSecretName" -}}
{{- .Values.googleOAuth.existingSecret | default (printf "%s-google-oauth" (include "mrs.fullname" .)) -}}
{{- end -}}

{{- define "mrs.googleOAuthConfigured" -}}
{{- if or .Values.googleOAuth.existingSecret .Values.googleOAuth.clientId -}}true{{- end -}}
{{- end -}}

{{/* The Secret and key with the password the create-databases Job connects with. */}}
{{- define "mrs.adminSecretName" -}}
{{- if .Values.postgresql.enabled -}}
{{- .Values.postgresql.auth.existingSecret | default (printf "%s-postgresql" (include "mrs.fullname" .)) -}}
{{- else -}}
{{- .Values.externalDatabase.existingSecret | default (printf "%s-postgresql" (include "mrs.fullname" .)) -}}
{{- end -}}
{{- end -}}

{{- define "mrs.adminSecretKey" -}}
{{- if .Values.postgresql.enabled -}}
{{- .Values.postgresql.auth.secretKeys.adminPasswordKey -}}
{{- else -}}
{{- .Values.externalDatabase.secretKeys.adminPasswordKey -}}
{{- end -}}
{{- end -}}

{{/*
A Secret's value, base64-encoded: the one given in values; else the one already in the cluster (so
upgrades keep generated credentials); else a new random one. Never a constant.
Call with (dict "root" $ "secret" NAME "key" KEY "value" VALUE "generate" "password"|"rsa").
*/}}
{{- define "mrs.secretValue" -}}
{{- if .value -}}
{{- .value | b64enc -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
{{- $current := "" -}}
{{- if $existing -}}{{- $current = index ($existing.data | default dict) .key | default "" -}}{{- end -}}
{{- if $current -}}
{{- $current -}}
{{- else if eq .generate "rsa" -}}
{{- genPrivateKey "rsa" | b64enc -}}
{{- else -}}
{{- randAlphaNum 32 | b64enc -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The three services, for templates that loop over them. */}}
{{- define "mrs.services" -}}
user: {key: userService, name: user-service, package: user_service, port: 5000, passwordKey: userDbPassword, passwordEnv: USER_DB_PASSWORD}
room: {key: roomService, name: room-service, package: room_service, port: 5001, passwordKey: roomDbPassword, passwordEnv: ROOM_DB_PASSWORD}
reservation: {key: reservationService, name: reservation-service, package: reservation_service, port: 5002, passwordKey: reservationDbPassword, passwordEnv: RESERVATION_DB_PASSWORD}
{{- end -}}

{{/* A PodDisruptionBudget: (dict "root" $ "component" C "pdb" .pdb) */}}
{{- define "mrs.pdb" -}}
{{- if .pdb.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "mrs.fullname" .root }}-{{ .component }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "mrs.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "mrs.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}

{{/*
checksum/secrets of a Pod template: changes when a Secret its containers read changes, so `helm upgrade`
restarts them. A Secret the chart renders is hashed by its inputs in values (generated values are kept,
so they never change it); a Secret made outside the chart (an existingSecret) by its data in the cluster,
so rotating it and running `helm upgrade` restarts the Pods. Call with (dict "root" $ "secrets" LIST),
LIST holding (dict "name" NAME "external" BOOL "values" VALUES).
*/}}
{{- define "mrs.secretsChecksum" -}}
{{- $parts := list -}}
{{- range .secrets -}}
{{- if .external -}}
{{- $found := lookup "v1" "Secret" $.root.Release.Namespace .name | default dict -}}
{{- $parts = append $parts (dict "name" .name "data" ($found.data | default dict)) -}}
{{- else -}}
{{- $parts = append $parts (dict "name" .name "values" .values) -}}
{{- end -}}
{{- end -}}
{{- toJson $parts | sha256sum -}}
{{- end -}}

{{/* The services' Secrets (tokens and database passwords, the Google client), for mrs.secretsChecksum. */}}
{{- define "mrs.serviceSecrets" -}}
{{- $v := .Values -}}
{{- $list := list (dict "name" (include "mrs.secretName" .) "external" (not (empty $v.secrets.existingSecret)) "values" $v.secrets) -}}
{{- if include "mrs.googleOAuthConfigured" . -}}
{{- $list = append $list (dict "name" (include "mrs.googleSecretName" .) "external" (not (empty $v.googleOAuth.existingSecret)) "values" $v.googleOAuth) -}}
{{- end -}}
{{- toJson $list -}}
{{- end -}}

{{/*
Graceful shutdown of a Pod behind a Service: the preStop pause keeps it serving while the endpoints
and the gateway's keep-alive connections (keepalive_timeout 4s in files/nginx.conf) move away; the
grace period covers the pause and the server's own graceful stop.
*/}}
{{- define "mrs.drain" -}}
terminationGracePeriodSeconds: {{ add .Values.shutdown.drainSeconds 30 }}
{{- end -}}

{{- define "mrs.preStop" -}}
lifecycle:
  preStop:
    sleep: {seconds: {{ .Values.shutdown.drainSeconds }}}
{{- end -}}

{{/* Whole CPUs of a quantity, rounded up, at least 1 ("500m" -> 1, "1500m" -> 2, "2" -> 2); "" -> "". */}}
{{- define "mrs.cpuCeil" -}}
{{- $q := toString . -}}
{{- if $q -}}
{{- if hasSuffix "m" $q -}}
{{- max 1 (div (add (trimSuffix "m" $q | int) 999) 1000) -}}
{{- else -}}
{{- max 1 (ceil ($q | float64)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* CloudWatch is on when asked for and given credentials (an IRSA role, a ServiceAccount of one's own, or keys). */}}
{{- define "mrs.cloudwatch.on" -}}
{{- $m := .Values.monitoring -}}
{{- $cw := $m.cloudwatch -}}
{{- if and $m.enabled $cw.enabled (or $cw.roleArn $cw.serviceAccountName $cw.existingSecret) -}}true{{- end -}}
{{- end -}}

{{- define "mrs.cloudwatch.serviceAccountName" -}}
{{- $cw := .Values.monitoring.cloudwatch -}}
{{- if $cw.serviceAccountName -}}
{{- $cw.serviceAccountName -}}
{{- else if $cw.roleArn -}}
{{- printf "%s-cloudwatch" (include "mrs.fullname" .) -}}
{{- else -}}
{{- include "mrs.serviceAccountName" . -}}
{{- end -}}
{{- end -}}
