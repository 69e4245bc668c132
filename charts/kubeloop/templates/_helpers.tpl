{{/* Chart name, truncated to 63 characters (DNS label). */}}
{{- define "kubeloop.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release name, plus chart name unless the release already contains it. */}}
{{- define "kubeloop.fullname" -}}
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

{{- define "kubeloop.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubeloop.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kubeloop.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "kubeloop.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "kubeloop.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kubeloop.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "true" when webhooks are enabled and a listed operator registers a webhook of kind "validating" or "mutating" (templates/_webhooks.tpl). */}}
{{- define "kubeloop.webhooks.of" -}}
{{- $root := index . 0 }}
{{- $kind := index . 1 }}
{{- if $root.Values.webhooks.enabled }}
{{- range $root.Values.operators }}
{{- if include (printf "kubeloop.webhooks.%s.%s" $kind .) $root }}true{{ end }}
{{- end }}
{{- end }}
{{- end }}

{{/* "true" when the operator pods serve webhooks. */}}
{{- define "kubeloop.webhooks.serve" -}}
{{- if or (include "kubeloop.webhooks.of" (list . "validating")) (include "kubeloop.webhooks.of" (list . "mutating")) }}true{{ end }}
{{- end }}
