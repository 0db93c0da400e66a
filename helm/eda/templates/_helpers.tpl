{{/* Name prefix of every object: the release name, trimmed for DNS. */}}
{{- define "eda.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels selecting one component's pods; call with (dict "root" $ "component" "producer"). */}}
{{- define "eda.selectorLabels" -}}
app.kubernetes.io/name: eda
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels on every object of a component. */}}
{{- define "eda.labels" -}}
{{ include "eda.selectorLabels" . }}
app.kubernetes.io/part-of: eda
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* The suite's image. */}}
{{- define "eda.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The provisioner's image (with helm). */}}
{{- define "eda.provisionerImage" -}}
{{ .Values.provisioner.image.repository }}:{{ .Values.provisioner.image.tag | default .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Environment every service shares; the broker URL comes from a Secret, never a value. */}}
{{- define "eda.commonEnv" -}}
- name: AMQP_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.amqp.existingSecret }}
      key: {{ .Values.amqp.secretKey }}
- name: EDA_PREFIX
  value: {{ .Values.prefix | quote }}
- name: EDA_COMPANY
  value: {{ .Values.company | quote }}
- name: EDA_QUEUE_TYPE
  value: {{ .Values.queueType | quote }}
{{- with .Values.quorumSize }}
- name: EDA_QUORUM_SIZE
  value: {{ . | quote }}
{{- end }}
- name: EDA_MAX_RETRIES
  value: {{ .Values.maxRetries | quote }}
- name: EDA_RETRY_DELAYS
  value: {{ .Values.retryDelays | quote }}
- name: LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
- name: RUST_LOG
  value: {{ .Values.rustLog | quote }}
{{- end -}}

{{/* Scheduling settings shared by every pod. */}}
{{- define "eda.scheduling" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
A NetworkPolicy for one component's pods: ingress only to its HTTP port (from
networkPolicy.ingressFrom, or anyone), egress only to DNS and the classes it names
(networkPolicy.egress.<class>: ports, and peers when set). Call with
(dict "root" $ "component" "dbwriter" "port" 9092 "egress" (list "amqp" "postgres")).
*/}}
{{- define "eda.networkPolicy" -}}
{{- $np := .root.Values.networkPolicy -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "eda.fullname" .root }}-{{ .component }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "eda.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "eda.selectorLabels" . | nindent 6 }}
  policyTypes: ["Ingress", "Egress"]
  ingress:
    - ports:
        - port: {{ .port }}
          protocol: TCP
      {{- with $np.ingressFrom }}
      from:
        {{- toYaml . | nindent 8 }}
      {{- end }}
  egress:
    {{- range $class := prepend .egress "dns" }}
    {{- $rule := index $np.egress $class }}
    - ports:
        {{- range $port := $rule.ports }}
        - port: {{ $port }}
          protocol: TCP
        {{- if eq $class "dns" }}
        - port: {{ $port }}
          protocol: UDP
        {{- end }}
        {{- end }}
      {{- with $rule.to }}
      to:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
{{- end -}}
