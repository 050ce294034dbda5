{{/* Names */}}
{{- define "terway-guard.name" -}}terway-guard{{- end -}}

{{- define "terway-guard.fullname" -}}
{{- if contains "terway-guard" .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{- else -}}{{ printf "%s-terway-guard" .Release.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "terway-guard.webhook" -}}{{ include "terway-guard.fullname" . }}-webhook{{- end -}}
{{- define "terway-guard.controller" -}}{{ include "terway-guard.fullname" . }}-controller{{- end -}}
{{- define "terway-guard.certSecret" -}}
{{- if eq .Values.certificates.mode "secret" -}}{{ required "certificates.secret.name is required with certificates.mode=secret" .Values.certificates.secret.name }}{{- else -}}{{ include "terway-guard.webhook" . }}-tls{{- end -}}
{{- end -}}

{{- define "terway-guard.labels" -}}
app.kubernetes.io/name: terway-guard
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "terway-guard.selector" -}}
app.kubernetes.io/name: terway-guard
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "terway-guard.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}

{{/* Restricted pod and container security */}}
{{- define "terway-guard.podSecurity" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}
{{- define "terway-guard.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* Cloud settings and credentials, shared by both components (env, not args) */}}
{{- define "terway-guard.cloudEnv" -}}
- name: TERWAY_GUARD_INVENTORY
  value: aliyun
{{- with .Values.cloud.region }}
- name: TERWAY_GUARD_REGION
  value: {{ . | quote }}
{{- end }}
{{- with .Values.cloud.endpointType }}
- name: TERWAY_GUARD_ENDPOINT_TYPE
  value: {{ . | quote }}
{{- end }}
{{- with .Values.cloud.vpcId }}
- name: TERWAY_GUARD_VPC_ID
  value: {{ . | quote }}
{{- end }}
{{- with .Values.cloud.vpcEndpoint }}
- name: TERWAY_GUARD_VPC_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: TERWAY_GUARD_TERWAY_NAMESPACE
  value: {{ .Values.terway.namespace | quote }}
{{- if and (eq .Values.cloud.credentials.mode "rrsa") .Values.cloud.region }}
{{- /* The regional STS endpoint; its -vpc twin needs no internet egress. */}}
- name: ALIBABA_CLOUD_STS_REGION
  value: {{ .Values.cloud.region | quote }}
- name: ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED
  value: {{ ne .Values.cloud.endpointType "public" | quote }}
{{- end }}
{{- if eq .Values.cloud.credentials.mode "secret" }}
- name: ALIBABA_CLOUD_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ required "cloud.credentials.secret.name is required with credentials mode secret" .Values.cloud.credentials.secret.name }}
      key: ALIBABA_CLOUD_ACCESS_KEY_ID
- name: ALIBABA_CLOUD_ACCESS_KEY_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .Values.cloud.credentials.secret.name }}
      key: ALIBABA_CLOUD_ACCESS_KEY_SECRET
- name: ALIBABA_CLOUD_ECS_METADATA_DISABLED
  value: "true"
{{- end }}
{{- end -}}

{{- define "terway-guard.saAnnotations" -}}
{{- if eq .Values.cloud.credentials.mode "rrsa" }}
annotations:
  pod-identity.alibabacloud.com/role-name: {{ required "cloud.credentials.rrsa.roleName is required with credentials mode rrsa" .Values.cloud.credentials.rrsa.roleName | quote }}
{{- end }}
{{- end -}}

{{/*
Webhook serving certificate for certificates.mode=helm: generated once and
reused on upgrades (lookup), computed once per render so the Secret and the
caBundle always match.
*/}}
{{- define "terway-guard.helmCert" -}}
{{- if not (hasKey .Release "tgCert") -}}
{{- $name := include "terway-guard.certSecret" . -}}
{{- $svc := include "terway-guard.webhook" . -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $name -}}
{{- if and $existing $existing.data (index $existing.data "tls.crt") (index $existing.data "ca.crt") -}}
{{- $_ := set .Release "tgCert" (dict "crt" (index $existing.data "tls.crt") "key" (index $existing.data "tls.key") "ca" (index $existing.data "ca.crt")) -}}
{{- else -}}
{{- $days := int .Values.certificates.helm.validityDays -}}
{{- $ca := genCA "terway-guard-webhook-ca" $days -}}
{{- $dns := list $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) -}}
{{- $cert := genSignedCert (printf "%s.%s.svc" $svc .Release.Namespace) nil $dns $days $ca -}}
{{- $_ := set .Release "tgCert" (dict "crt" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc) "ca" ($ca.Cert | b64enc)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "terway-guard.caBundle" -}}
{{- if eq .Values.certificates.mode "helm" -}}
{{- include "terway-guard.helmCert" . -}}{{ .Release.tgCert.ca }}
{{- else if eq .Values.certificates.mode "secret" -}}
{{- required "certificates.secret.caBundle is required with certificates.mode=secret" .Values.certificates.secret.caBundle -}}
{{- end -}}
{{- end -}}

{{- define "terway-guard.webhookAnnotations" -}}
{{- if eq .Values.certificates.mode "cert-manager" }}
annotations:
  cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "terway-guard.webhook" .) }}
{{- end }}
{{- end -}}

{{/* Only eni-config and ConfigMaps with an eni_conf key reach the webhook. */}}
{{- define "terway-guard.matchConditions" -}}
{{- if .Values.webhook.matchConditions }}
matchConditions:
  - name: terway-configs-only
    expression: >-
      (object != null && (object.metadata.name == 'eni-config' || (has(object.data) && 'eni_conf' in object.data))) ||
      (oldObject != null && (oldObject.metadata.name == 'eni-config' || (has(oldObject.data) && 'eni_conf' in oldObject.data)))
{{- end }}
{{- end -}}
