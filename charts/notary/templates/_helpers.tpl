{{- define "notary.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "notary.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "notary.selectorLabels" -}}
app.kubernetes.io/name: {{ include "notary.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "notary.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "notary.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "notary.serviceAccountName" -}}
{{- default (include "notary.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{- define "notary.clusterId" -}}
{{- default .Release.Name .Values.cluster.clusterId }}
{{- end }}

{{/*
Refuses a Redis connection string without a password and TLS (ssl=true), unless
cluster.redis.allowInsecure says it is on purpose. A string in existingSecret is not visible
here: the silo refuses it at start (Notary:Cluster:Redis:AllowInsecure).
*/}}
{{- define "notary.redisSecurityCheck" -}}
{{- with .Values.cluster.redis }}
{{- if and .connectionString (not .existingSecret.name) (not .allowInsecure) }}
{{- /* Read as the silo's parser (StackExchange.Redis) reads it: comma-separated key=value
       options, keys and values trimmed, keys case-insensitive, and a repeated option's LAST
       value wins (host:6380,password=p,ssl=true,ssl=false has no TLS). */}}
{{- $password := false }}
{{- $tls := false }}
{{- range $option := splitList "," .connectionString }}
{{- $pair := regexSplit "=" $option 2 }}
{{- if eq (len $pair) 2 }}
{{- $key := lower (trim (index $pair 0)) }}
{{- $value := trim (index $pair 1) }}
{{- if eq $key "password" }}{{- $password = ne $value "" }}{{- end }}
{{- if eq $key "ssl" }}{{- $tls = eq (lower $value) "true" }}{{- end }}
{{- end }}
{{- end }}
{{- if not (and $password $tls) }}
{{- fail (printf "cluster.redis.connectionString has %s: grain state and cluster membership would cross the network in the clear to a Redis anyone who reaches it can write. Use host:port,password=...,ssl=true (and keep it in cluster.redis.existingSecret), or set cluster.redis.allowInsecure=true to accept it on purpose." (ternary "no password and no TLS (ssl=true)" (ternary "no TLS (ssl=true)" "no password" $password) (and (not $password) (not $tls)))) }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
