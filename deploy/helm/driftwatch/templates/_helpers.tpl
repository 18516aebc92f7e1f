{{- define "driftwatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "driftwatch.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "driftwatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "driftwatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "driftwatch.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "driftwatch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "driftwatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "driftwatch.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The topology as mounted: the user's, with the metrics endpoint where the pod exposes it. */}}
{{- define "driftwatch.topology" -}}
{{- $topology := deepCopy (.Values.topology | default dict) }}
{{- $sinks := get $topology "sinks" | default dict }}
{{- $metrics := get $sinks "metrics" | default dict }}
{{- $_ := set $metrics "port" (int .Values.metrics.port) }}
{{- $_ := set $metrics "host" "0.0.0.0" }}
{{- $_ := set $sinks "metrics" $metrics }}
{{- $_ := set $topology "sinks" $sinks }}
{{- toYaml $topology }}
{{- end }}

{{/*
Whether an optional resource is rendered: true, false, or "auto" = when the cluster serves its API
(helm template: pass --api-versions). Call with (list setting "group/version" .).
*/}}
{{- define "driftwatch.enabled" -}}
{{- $setting := index . 0 }}
{{- if eq (toString $setting) "auto" }}
{{- (index . 2).Capabilities.APIVersions.Has (index . 1) }}
{{- else }}
{{- $setting }}
{{- end }}
{{- end }}

{{- define "driftwatch.keda" -}}
{{- include "driftwatch.enabled" (list .Values.keda.enabled "keda.sh/v1alpha1" .) }}
{{- end }}

{{/* The Secret whose keys become environment variables, if any. */}}
{{- define "driftwatch.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else if .Values.secrets.env }}
{{- include "driftwatch.fullname" . }}
{{- end }}
{{- end }}
