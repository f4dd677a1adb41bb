{{/* Monitoring helpers: a part is on when monitoring.enabled and its own enabled are both true. */}}
{{- define "mrs.monitoring.on" -}}
{{- $m := .root.Values.monitoring -}}
{{- if and $m.enabled (index $m .part).enabled -}}true{{- end -}}
{{- end -}}

{{- define "mrs.lokiName" -}}
{{- printf "%s-loki" (include "mrs.fullname" .) -}}
{{- end -}}

{{- define "mrs.lokiUrl" -}}
{{- printf "http://%s:3100" (include "mrs.lokiName" .) -}}
{{- end -}}

{{- define "mrs.grafanaSecretName" -}}
{{- .Values.monitoring.grafana.existingSecret | default (printf "%s-grafana" (include "mrs.fullname" .)) -}}
{{- end -}}

{{/* An image of the monitoring block: (dict "image" .image) */}}
{{- define "mrs.monitoringImage" -}}
{{- printf "%s:%s" .image.repository .image.tag -}}
{{- end -}}

{{/*
The collectors read node-wide data (Alloy: every Pod's logs on its node; Fluent Bit: the node's log
files), which a namespace enforcing the restricted Pod Security Standard would refuse for Fluent Bit.
*/}}
{{- define "mrs.monitoring.checkNamespace" -}}
{{- if and (include "mrs.cloudwatch.on" .) .Values.namespace.create -}}
{{- $level := index .Values.namespace.labels "pod-security.kubernetes.io/enforce" | default "privileged" -}}
{{- if ne $level "privileged" -}}
{{- fail (printf "monitoring.cloudwatch runs Fluent Bit with hostPath volumes, which the %s Pod Security Standard of namespace.labels forbids: set pod-security.kubernetes.io/enforce to privileged, or install without namespace.create" $level) -}}
{{- end -}}
{{- end -}}
{{- end -}}
