{{/*
One service: its ConfigMap, the web Deployment (migrations in its init containers), Service,
HorizontalPodAutoscaler and PodDisruptionBudget, the relay Deployment and, where the service
consumes events, the consumer Deployment (and, for the reservation service, the scheduler's).
Call with (dict "root" $ "id" "user"|"room"|"reservation").
*/}}
{{- define "mrs.microservice" -}}
{{- $root := .root -}}
{{- $svc := index (include "mrs.services" $root | fromYaml) .id -}}
{{- $values := index $root.Values $svc.key -}}
{{- $fullname := include "mrs.fullname" $root -}}
{{- $name := printf "%s-%s" $fullname $svc.name -}}
{{- $config := dict
  "DATABASE_URL" (printf "postgresql://%s@%s:%v/%s" $values.database.username (include "mrs.postgresHost" $root) (include "mrs.postgresPort" $root) $values.database.name)
  "PGSSLMODE" (include "mrs.postgresSslmode" $root)
  "KAFKA_BOOTSTRAP_SERVERS" (include "mrs.kafkaBootstrap" $root)
  "KAFKA_TOPIC_PARTITIONS" ($root.Values.kafka.provisioning.partitions | toString)
  "KAFKA_REPLICATION_FACTOR" ($root.Values.kafka.provisioning.replicationFactor | toString)
  "LOG_LEVEL" $root.Values.config.logLevel
  "JWT_ISSUER" $root.Values.config.jwtIssuer
  "JWT_AUDIENCE" $root.Values.config.jwtAudience
-}}
{{- if eq .id "user" -}}
{{- $_ := set $config "ACCESS_TOKEN_TTL_SECONDS" ($root.Values.config.accessTokenTtlSeconds | toString) -}}
{{- $_ := set $config "OAUTH_REDIRECT_URI" $root.Values.config.oauthRedirectUri -}}
{{- $_ := set $config "OIDC_DISCOVERY_URL" $root.Values.config.oidcDiscoveryUrl -}}
{{- $_ := set $config "ADMIN_EMAILS" (join "," $root.Values.config.adminEmails) -}}
{{- $_ := set $config "ALLOWED_EMAIL_DOMAINS" (join "," $root.Values.config.allowedEmailDomains) -}}
{{- else -}}
{{- $_ := set $config "JWKS_URL" (printf "http://%s-user-service:5000/.well-known/jwks.json" $fullname) -}}
{{- end -}}
{{- if eq .id "reservation" -}}
{{- $_ := set $config "MAX_RESERVATION_HOURS" ($root.Values.config.maxReservationHours | toString) -}}
{{- with $values.maxUpcomingReservations -}}
{{- $_ := set $config "MAX_UPCOMING_RESERVATIONS" (. | toString) -}}
{{- end -}}
{{- with $root.Values.config.publicBaseUrl -}}
{{- $_ := set $config "PUBLIC_BASE_URL" . -}}
{{- end -}}
{{- end -}}
{{- range $key, $value := $values.env -}}
{{- $_ := set $config $key ($value | toString) -}}
{{- end -}}
{{- $secrets := include "mrs.secretsChecksum" (dict "root" $root "secrets" (include "mrs.serviceSecrets" $root | fromJsonArray)) -}}
{{- $ctx := dict "root" $root "svc" $svc "values" $values "name" $name "checksum" (toYaml $config | sha256sum) "secretsChecksum" $secrets -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "mrs.labels" (dict "root" $root "component" $svc.name) | nindent 4 }}
data:
  {{- range $key, $value := $config }}
  {{ $key }}: {{ $value | quote }}
  {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "mrs.labels" (dict "root" $root "component" (printf "%s-web" $svc.name)) | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "mrs.selectorLabels" (dict "root" $root "component" (printf "%s-web" $svc.name)) | nindent 4 }}
  ports:
    - name: http
      port: {{ $svc.port }}
      targetPort: http
      protocol: TCP
---
{{ include "mrs.webDeployment" $ctx }}
{{- include "mrs.pdb" (dict "root" $root "component" (printf "%s-web" $svc.name) "pdb" $values.web.pdb) }}
{{- if $values.web.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $name }}-web
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "mrs.labels" (dict "root" $root "component" (printf "%s-web" $svc.name)) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $name }}-web
  minReplicas: {{ $values.web.autoscaling.minReplicas }}
  maxReplicas: {{ $values.web.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $values.web.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
---
{{ include "mrs.workerDeployment" (merge (dict "command" "relay" "healthPort" 9000 "worker" $values.relay) $ctx) }}
{{- if $values.consumer }}
---
{{ include "mrs.workerDeployment" (merge (dict "command" "consumer" "healthPort" 9001 "worker" $values.consumer) $ctx) }}
{{- end }}
{{- if $values.scheduler }}
---
{{ include "mrs.workerDeployment" (merge (dict "command" "scheduler" "healthPort" 9002 "worker" $values.scheduler "env" (dict "SCHEDULER_POLL_SECONDS" ($values.scheduler.pollSeconds | toString))) $ctx) }}
{{- end }}
{{- end -}}

{{/* Environment every process of a service gets: its ConfigMap and its database password. */}}
{{- define "mrs.serviceEnv" -}}
envFrom:
  - configMapRef:
      name: {{ .name }}
env:
  - name: PGPASSWORD
    valueFrom:
      secretKeyRef:
        name: {{ include "mrs.secretName" .root }}
        key: {{ index .root.Values.secrets.secretKeys .svc.passwordKey }}
{{- end -}}

{{/* Pod-level settings shared by the service's Deployments. */}}
{{- define "mrs.servicePodSpec" -}}
serviceAccountName: {{ include "mrs.serviceAccountName" .root }}
automountServiceAccountToken: false
{{- include "mrs.imagePullSecrets" .root }}
securityContext:
  {{- include "mrs.podSecurityContext" (dict "root" .root "uid" 10001) | nindent 2 }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
{{- end -}}

{{- define "mrs.httpProbes" -}}
startupProbe:
  httpGet: {path: /healthz, port: {{ .port }}}
  periodSeconds: 5
  failureThreshold: 24
livenessProbe:
  httpGet: {path: /healthz, port: {{ .port }}}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet: {path: {{ .readyPath | default "/healthz" }}, port: {{ .port }}}
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 3
{{- end -}}

{{- define "mrs.webDeployment" -}}
{{- $component := printf "%s-web" .svc.name -}}
{{- $selector := dict "root" .root "component" $component -}}
{{- $image := include "mrs.serviceImage" (dict "root" .root "service" .values) -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}-web
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "mrs.labels" $selector | nindent 4 }}
spec:
  {{- if not .values.web.autoscaling.enabled }}
  replicas: {{ .values.web.replicaCount }}
  {{- end }}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
  selector:
    matchLabels:
      {{- include "mrs.selectorLabels" $selector | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "mrs.labels" $selector | nindent 8 }}
      annotations:
        checksum/config: {{ .checksum }}
        checksum/secrets: {{ .secretsChecksum }}
        # /metrics on the service port (never routed by the gateway), for Prometheus' pod discovery.
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ .svc.port | quote }}
        prometheus.io/path: /metrics
    spec:
      {{- include "mrs.servicePodSpec" . | nindent 6 }}
      {{- include "mrs.drain" .root | nindent 6 }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "mrs.selectorLabels" $selector | nindent 14 }}
      # The database may still be on its way (first install); then the schema is brought up to
      # date, under an advisory lock, before this version serves.
      initContainers:
        - name: wait-for-database
          image: {{ $image }}
          {{- include "mrs.imagePullPolicy" .root | nindent 10 }}
          command: ["python", "/app/wait_for_database.py"]
          {{- include "mrs.serviceEnv" . | nindent 10 }}
          resources:
            {{- toYaml .values.web.resources | nindent 12 }}
          securityContext:
            {{- include "mrs.containerSecurityContext" .root | nindent 12 }}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
        - name: migrate
          image: {{ $image }}
          {{- include "mrs.imagePullPolicy" .root | nindent 10 }}
          args: ["migrate"]
          {{- include "mrs.serviceEnv" . | nindent 10 }}
          resources:
            {{- toYaml .values.web.resources | nindent 12 }}
          securityContext:
            {{- include "mrs.containerSecurityContext" .root | nindent 12 }}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
      containers:
        - name: web
          image: {{ $image }}
          {{- include "mrs.imagePullPolicy" .root | nindent 10 }}
          args: ["web"]
          {{- include "mrs.serviceEnv" . | nindent 10 }}
            - {name: PORT, value: {{ .svc.port | quote }}}
            - {name: WEB_CONCURRENCY, value: {{ .values.web.concurrency | quote }}}
            {{- if eq .svc.name "user-service" }}
            - name: JWT_SIGNING_KEY
              valueFrom:
                secretKeyRef:
                  name: {{ include "mrs.secretName" .root }}
                  key: {{ .root.Values.secrets.secretKeys.jwtSigningKey }}
            - name: JWT_PREVIOUS_PUBLIC_KEYS
              valueFrom:
                secretKeyRef:
                  name: {{ include "mrs.secretName" .root }}
                  key: {{ .root.Values.secrets.secretKeys.jwtPreviousPublicKeys }}
                  optional: true
            {{- if include "mrs.googleOAuthConfigured" .root }}
            - name: GOOGLE_CLIENT_ID
              valueFrom:
                secretKeyRef:
                  name: {{ include "mrs.googleSecretName" .root }}
                  key: {{ .root.Values.googleOAuth.secretKeys.clientId }}
            - name: GOOGLE_CLIENT_SECRET
              valueFrom:
                secretKeyRef:
                  name: {{ include "mrs.googleSecretName" .root }}
                  key: {{ .root.Values.googleOAuth.secretKeys.clientSecret }}
            {{- end }}
            {{- end }}
            {{- if eq .svc.name "reservation-service" }}
            - name: CALENDAR_FEED_KEY
              valueFrom:
                secretKeyRef:
                  name: {{ include "mrs.secretName" .root }}
                  key: {{ .root.Values.secrets.secretKeys.calendarFeedKey }}
                  optional: true
            {{- end }}
          ports:
            - {name: http, containerPort: {{ .svc.port }}, protocol: TCP}
          {{- include "mrs.httpProbes" (dict "port" "http" "readyPath" "/readyz") | nindent 10 }}
          {{- include "mrs.preStop" .root | nindent 10 }}
          resources:
            {{- toYaml .values.web.resources | nindent 12 }}
          securityContext:
            {{- include "mrs.containerSecurityContext" .root | nindent 12 }}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
{{- end -}}

{{/* relay, consumer or scheduler: (merge (dict "command" C "healthPort" P "worker" VALUES ["env" DICT]) ctx) */}}
{{- define "mrs.workerDeployment" -}}
{{- $component := printf "%s-%s" .svc.name .command -}}
{{- $selector := dict "root" .root "component" $component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}-{{ .command }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "mrs.labels" $selector | nindent 4 }}
spec:
  replicas: {{ .worker.replicaCount }}
  selector:
    matchLabels:
      {{- include "mrs.selectorLabels" $selector | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "mrs.labels" $selector | nindent 8 }}
      annotations:
        checksum/config: {{ .checksum }}
        checksum/secrets: {{ .secretsChecksum }}
        # /metrics on the health port (outbox backlog, consumer lag), for Prometheus' pod discovery.
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ .healthPort | quote }}
        prometheus.io/path: /metrics
    spec:
      {{- include "mrs.servicePodSpec" . | nindent 6 }}
      terminationGracePeriodSeconds: 30
      containers:
        - name: {{ .command }}
          image: {{ include "mrs.serviceImage" (dict "root" .root "service" .values) }}
          {{- include "mrs.imagePullPolicy" .root | nindent 10 }}
          args: [{{ .command | quote }}]
          {{- include "mrs.serviceEnv" . | nindent 10 }}
            - {name: HEALTH_PORT, value: {{ .healthPort | quote }}}
            {{- range $key, $value := .env }}
            - {name: {{ $key }}, value: {{ $value | quote }}}
            {{- end }}
          ports:
            - {name: health, containerPort: {{ .healthPort }}, protocol: TCP}
          {{- include "mrs.httpProbes" (dict "port" "health") | nindent 10 }}
          resources:
            {{- toYaml .worker.resources | nindent 12 }}
          securityContext:
            {{- include "mrs.containerSecurityContext" .root | nindent 12 }}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
{{- end -}}
