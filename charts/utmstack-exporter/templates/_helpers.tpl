{{/* The chart's name, or nameOverride. */}}
{{- define "utmstack-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The objects' name: fullnameOverride, or the release name when it already
contains the chart's name, or <release>-<chart>. At most 63 characters, the
limit of a DNS label.
*/}}
{{- define "utmstack-exporter.fullname" -}}
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

{{- define "utmstack-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "utmstack-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "utmstack-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "utmstack-exporter.labels" -}}
helm.sh/chart: {{ include "utmstack-exporter.chart" . }}
{{ include "utmstack-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: utmstack-exporter
{{- end }}

{{/* The Secret mounted at /etc/utmstack_exporter/secret. */}}
{{- define "utmstack-exporter.secretName" -}}
{{- default (include "utmstack-exporter.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{- define "utmstack-exporter.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* More than one replica shards the probe targets: a StatefulSet. */}}
{{- define "utmstack-exporter.sharded" -}}
{{- if gt (int .Values.replicas) 1 }}true{{ end }}
{{- end }}

{{/*
"0;<fullname>-0|1;<fullname>-1|...": a shard number followed by the name of
the StatefulSet pod of that ordinal. Relabelling regexes have no
backreferences, so the pairs are spelled out.
*/}}
{{- define "utmstack-exporter.shardRegex" -}}
{{- $pairs := list }}
{{- range $i := until .replicas }}
{{- $pairs = append $pairs (printf "%d;%s-%d" $i (regexQuoteMeta $.fullname) $i) }}
{{- end }}
{{- join "|" $pairs }}
{{- end }}

{{/* The names under targets: in config, sorted. */}}
{{- define "utmstack-exporter.targets" -}}
{{- $config := .Values.config | fromYaml }}
{{- if hasKey $config "Error" }}
{{- fail (printf "config: not YAML: %s" $config.Error) }}
{{- end }}
{{- $config.targets | default dict | keys | sortAlpha | toJson }}
{{- end }}
