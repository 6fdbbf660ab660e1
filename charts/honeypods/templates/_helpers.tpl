{{/*
honeypods.name: base name of the shared objects. The release name rather than the chart name,
because "honeypods" in an object name is exactly what this chart must not show.
*/}}
{{- define "honeypods.name" -}}
{{- .Values.nameOverride | default .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
honeypods.fullname: name of the ServiceAccount, Secret, NetworkPolicies and monitoring objects.
Never suffixed with the chart name, for the same reason.
*/}}
{{- define "honeypods.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- include "honeypods.name" . }}
{{- end }}
{{- end }}

{{/*
honeypods.namespace: one place decides where every namespaced object goes, so the alert queries
and the objects cannot disagree.
*/}}
{{- define "honeypods.namespace" -}}
{{- .Values.namespace.name | default .Release.Namespace | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
honeypods.selectorLabels: the label every pod of the release carries; the PodMonitor and the test
pod's NetworkPolicy select on it. Workload selectors are immutable, so nothing a user may change
(partOf, commonLabels) goes in here.
*/}}
{{- define "honeypods.selectorLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
honeypods.labels: labels for every object. No helm.sh/chart label: it would name the chart on
every object, readable by anything allowed to list them.
*/}}
{{- define "honeypods.labels" -}}
{{ include "honeypods.selectorLabels" . }}
app.kubernetes.io/part-of: {{ .Values.partOf }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
honeypods.decoySelectorLabels: the `app` label of the original manifests, which the Calico
queries match in dest_labels, plus the release's selector labels. The enricher's workload uses it
too. Argument: (dict "root" $ "name" <app>).
*/}}
{{- define "honeypods.decoySelectorLabels" -}}
app: {{ .name }}
{{ include "honeypods.selectorLabels" .root }}
{{- end }}

{{/*
honeypods.decoyLabels: object labels of one decoy's (or the enricher's) workload and Services.
*/}}
{{- define "honeypods.decoyLabels" -}}
app: {{ .name }}
app.kubernetes.io/name: {{ .name }}
{{ include "honeypods.labels" .root }}
{{- end }}

{{/*
honeypods.serviceAccountName: the account the decoy pods run as.
*/}}
{{- define "honeypods.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "honeypods.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/*
honeypods.keysSecretName: the Secret with the SSH host keys and the HTTPS certificate.
*/}}
{{- define "honeypods.keysSecretName" -}}
{{- printf "%s-keys" (include "honeypods.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
honeypods.image: image reference of one decoy: a digest wins over a tag; an empty repository is
<image.registry>/honeypods-<decoy>, the name the images are published under.
Argument: (dict "root" $ "decoy" <name> "image" <decoys.x.image>).
*/}}
{{- define "honeypods.image" -}}
{{- $repo := .image.repository | default (printf "%s/honeypods-%s" (.root.Values.image.registry | trimSuffix "/") .decoy) }}
{{- if .image.digest }}
{{- printf "%s@%s" $repo .image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
honeypods.portscanHas22: "true" when the port-scan decoy listens on 22 (values hold numbers as
floats, so compare as integers).
*/}}
{{- define "honeypods.portscanHas22" -}}
{{- $found := "" }}
{{- range .Values.decoys.portscan.ports }}{{ if eq (int .) 22 }}{{ $found = "true" }}{{ end }}{{ end }}
{{- $found }}
{{- end }}

{{/*
honeypods.testScanPorts: the ports `helm test` connects to on a port-scan decoy pod: enough
distinct ports other than 22 to make one honeypod.ip.enum and one honeypod.port.scan. Comma-joined.
*/}}
{{- define "honeypods.testScanPorts" -}}
{{- $cfg := .Values.decoys.portscan }}
{{- $picked := list }}
{{- range $cfg.ports }}
{{- if and (ne (int .) 22) (lt (len $picked) (int $cfg.scanThreshold)) }}{{ $picked = append $picked (int .) }}{{ end }}
{{- end }}
{{- if not $picked }}{{ $picked = list (int (first $cfg.ports)) }}{{ end }}
{{- $picked | join "," }}
{{- end }}

{{/*
honeypods.sshPorts: ports whose contact the decoys report as honeypod.network.ssh: the SSH lure's
port, and 22 when the port-scan decoy listens on it (it maps port 22 to that rule). Comma-joined.
*/}}
{{- define "honeypods.sshPorts" -}}
{{- $d := .Values.decoys }}
{{- $ports := list }}
{{- if $d.ssh.enabled }}{{ $ports = append $ports (int $d.ssh.port) }}{{ end }}
{{- if and $d.portscan.enabled (include "honeypods.portscanHas22" $) }}{{ $ports = append $ports 22 }}{{ end }}
{{- $ports | uniq | join "," }}
{{- end }}

{{/*
honeypods.webPorts: container ports of the dashboard (HTTP, then HTTPS when on). Comma-joined.
*/}}
{{- define "honeypods.webPorts" -}}
{{- $w := .Values.decoys.web }}
{{- $ports := list (int $w.port) }}
{{- if $w.tlsPort }}{{ $ports = append $ports (int $w.tlsPort) }}{{ end }}
{{- $ports | join "," }}
{{- end }}

{{/*
honeypods.calicoPorts: a Calico query term for dest_port over a comma-joined list of ports.
*/}}
{{- define "honeypods.calicoPorts" -}}
{{- $ports := splitList "," . }}
{{- if eq (len $ports) 1 }}
{{- printf "dest_port=\"%s\"" (first $ports) }}
{{- else }}
{{- $quoted := list }}
{{- range $ports }}{{ $quoted = append $quoted (printf "\"%s\"" .) }}{{ end }}
{{- printf "dest_port IN {%s}" (join "," $quoted) }}
{{- end }}
{{- end }}

{{/*
honeypods.alertSpecs: the six alerts, computed once from the values that deploy the decoys, for
both the PrometheusRule and the GlobalAlerts. An alert is left out when it is disabled or when no
enabled decoy can raise it. Output: YAML {alerts: [...]}, read back with fromYaml.
*/}}
{{- define "honeypods.alertSpecs" -}}
{{- $ns := include "honeypods.namespace" . }}
{{- $d := .Values.decoys }}
{{- $r := .Values.alerts.rules }}
{{- $metrics := printf "%d" (int .Values.metrics.port) }}
{{- $src := "${source_namespace}/${source_name_aggr}" }}
{{- $out := list }}
{{- if and $d.portscan.enabled $r.ipEnum.enabled }}
{{- $out = append $out (dict "key" "ipEnum" "name" "honeypod.ip.enum" "pod" $d.portscan.name
    "summary" (printf "Pod subnet IP enumeration: a decoy pod of %s in namespace %s was contacted" $d.portscan.name $ns)
    "calicoDescription" (printf "[Honeypod] Pod subnet IP enumeration by %s" $src)
    "calicoQuery" (printf "dest_namespace=\"%s\" AND \"dest_labels.labels\"=\"app=%s\" AND dest_port!=\"%s\" AND reporter=\"dst\"" $ns $d.portscan.name $metrics)) }}
{{- end }}
{{- if and $d.portscan.enabled $r.portScan.enabled }}
{{- $out = append $out (dict "key" "portScan" "name" "honeypod.port.scan" "pod" $d.portscan.name
    "summary" (printf "Pod subnet port scan: %d or more ports of a pod of %s in namespace %s probed from one source" (int $d.portscan.scanThreshold) $d.portscan.name $ns)
    "calicoDescription" (printf "[Honeypod] Pod subnet port scan by %s" $src)
    "calicoQuery" (printf "dest_namespace=\"%s\" AND \"dest_labels.labels\"=\"app=%s\" AND dest_port!=\"%s\" AND reporter=\"dst\"" $ns $d.portscan.name $metrics)
    "calicoThreshold" (int $d.portscan.scanThreshold)) }}
{{- end }}
{{- if and $d.web.enabled $r.fakeSvc.enabled }}
{{- $svcs := list }}
{{- if $d.web.services.debug.enabled }}{{ $svcs = append $svcs (printf "%s:%d" $d.web.services.debug.name (int $d.web.services.debug.port)) }}{{ end }}
{{- if and $d.web.services.internal.enabled $d.web.tlsPort }}{{ $svcs = append $svcs (printf "%s:%d" $d.web.services.internal.name (int $d.web.services.internal.port)) }}{{ end }}
{{- $ports := include "honeypods.webPorts" . }}
{{- $out = append $out (dict "key" "fakeSvc" "name" "honeypod.fake.svc" "pod" $d.web.name
    "summary" (printf "Fake internal dashboard accessed: %s (Services %s, pod ports %s) in namespace %s" $d.web.name (join ", " $svcs | default "none") $ports $ns)
    "calicoDescription" (printf "[Honeypod] Fake debug service accessed by %s on port %s" $src (splitList "," $ports | join ", "))
    "calicoQuery" (printf "dest_namespace=\"%s\" AND \"dest_labels.labels\"=\"app=%s\" AND %s AND reporter=\"dst\"" $ns $d.web.name (include "honeypods.calicoPorts" $ports))) }}
{{- end }}
{{- if and $d.mysql.enabled $r.vulnSvc.enabled }}
{{- $svc := ternary (printf "Service %s:%d, " $d.mysql.service.name (int $d.mysql.service.port)) "" $d.mysql.service.enabled }}
{{- $out = append $out (dict "key" "vulnSvc" "name" "honeypod.vuln.svc" "pod" $d.mysql.name
    "summary" (printf "Vulnerable service (MySQL) accessed: %s (%spod port %d) in namespace %s" $d.mysql.name $svc (int $d.mysql.port) $ns)
    "calicoDescription" (printf "[Honeypod] Vulnerable service (MySQL) accessed by %s" $src)
    "calicoQuery" (printf "dest_namespace=\"%s\" AND \"dest_labels.labels\"=\"app=%s\" AND dest_port!=\"%s\" AND reporter=\"dst\"" $ns $d.mysql.name $metrics)) }}
{{- end }}
{{- $ssh := include "honeypods.sshPorts" . }}
{{- if and $ssh $r.networkSsh.enabled }}
{{- $where := list }}
{{- if $d.ssh.enabled }}{{ $where = append $where (printf "%s port %d" $d.ssh.name (int $d.ssh.port)) }}{{ end }}
{{- if and $d.portscan.enabled (include "honeypods.portscanHas22" $) }}{{ $where = append $where (printf "%s port 22" $d.portscan.name) }}{{ end }}
{{- $out = append $out (dict "key" "networkSsh" "name" "honeypod.network.ssh" "pod" (ternary $d.ssh.name $d.portscan.name $d.ssh.enabled)
    "summary" (printf "Attempted SSH connection to a decoy (%s) in namespace %s" (join ", " $where) $ns)
    "calicoDescription" (printf "[Honeypod] Attempted SSH connection by %s" $src)
    "calicoQuery" (printf "dest_namespace=\"%s\" AND %s AND reporter=\"dst\"" $ns (include "honeypods.calicoPorts" $ssh))) }}
{{- end }}
{{- $h := .Values.honeytokens }}
{{- $lured := list }}
{{- if and $d.web.enabled (or $h.dashboard $h.secret.enabled) }}{{ $lured = append $lured $d.web.name }}{{ end }}
{{- if and $d.mysql.enabled (or $h.dashboard $h.database $h.secret.enabled) }}{{ $lured = append $lured $d.mysql.name }}{{ end }}
{{- if and $d.ssh.enabled $h.secret.enabled }}{{ $lured = append $lured $d.ssh.name }}{{ end }}
{{- if and $h.enabled $lured $r.honeytokenUsed.enabled }}
{{- $secret := $h.secret.name }}
{{- $audit := printf "\"objectRef.resource\"=\"secrets\" AND \"objectRef.namespace\"=\"%s\" AND \"objectRef.name\"=\"%s\" AND verb=\"get\"" $ns $secret }}
{{- with .Values.alerts.globalAlert.secretReaders }}
{{- $quoted := list }}
{{- range . }}{{ $quoted = append $quoted (printf "\"%s\"" .) }}{{ end }}
{{- $audit = printf "%s AND \"user.username\" NOTIN {%s}" $audit (join "," $quoted) }}
{{- end }}
{{- $out = append $out (dict "key" "honeytokenUsed" "name" "honeypod.honeytoken.used" "pod" (first $lured)
    "summary" (printf "Honeytoken used: a credential planted by this install (decoy Secret %s/%s, the dashboard's leaked files, the database) was used on a decoy (%s) in namespace %s" $ns $secret (join ", " $lured) $ns)
    "calicoDescription" (printf "[Honeypod] Honeytoken Secret %s/%s read by ${user.username}" $ns $secret)
    "calicoQuery" $audit
    "calicoDataSet" "audit"
    "calicoAggregateBy" (list "user.username")) }}
{{- end }}
{{- toYaml (dict "alerts" $out) }}
{{- end }}

{{/*
honeypods.pod: the pod spec every decoy shares: hardened contexts, the common environment, probes
on the metrics port, and the decoy's own ports, environment and volumes.
Argument: (dict "root" $ "decoy" <name> "cfg" <decoys.x> "ports" <list of {name, port}>
"env" <list of EnvVar> "volumes" <list> "mounts" <list> "sensor" <bool>).
*/}}
{{- define "honeypods.pod" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $low := false }}
{{- range .ports }}{{ if lt (int .port) 1024 }}{{ $low = true }}{{ end }}{{ end -}}
serviceAccountName: {{ include "honeypods.serviceAccountName" $root }}
automountServiceAccountToken: false
# Service links would inject variables such as HONEYPODS_MYSQL_PORT=tcp://... for any Service
# whose name starts with "honeypods-", and the decoy refuses unknown HONEYPODS_* variables.
enableServiceLinks: false
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
  {{- if and $low $v.unprivilegedPorts }}
  sysctls:
    - name: net.ipv4.ip_unprivileged_port_start
      value: "0"
  {{- end }}
containers:
  - name: {{ .cfg.name }}
    image: {{ include "honeypods.image" (dict "root" $root "decoy" .decoy "image" .cfg.image) }}
    imagePullPolicy: {{ $v.image.pullPolicy }}
    args: [{{ .decoy | quote }}]
    ports:
      {{- range .ports }}
      - name: {{ .name }}
        containerPort: {{ .port }}
        protocol: TCP
      {{- end }}
      - name: metrics
        containerPort: {{ $v.metrics.port }}
        protocol: TCP
    env:
      {{- include "honeypods.commonEnv" $root | nindent 6 }}
      {{- with (include "honeypods.decoyAlertingEnv" $root | trim) }}
      {{- . | nindent 6 }}
      {{- end }}
      {{- if has .decoy (list "web" "mysql" "ssh") }}
      {{- with (include "honeypods.honeytokenEnv" $root | trim) }}
      {{- . | nindent 6 }}
      {{- end }}
      {{- end }}
      {{- with .env }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
      {{- range $name, $value := .cfg.env }}
      - name: {{ $name }}
        value: {{ $value | toString | quote }}
      {{- end }}
    {{- if not $v.enricher.enabled }}
    {{- with $v.directAlerting.secretName }}
    envFrom:
      - secretRef:
          name: {{ . }}
    {{- end }}
    {{- end }}
    securityContext:
      {{- if .sensor }}
      {{- /* The documented exception: raw sockets need CAP_NET_RAW, and only root can use an added capability (Kubernetes sets no ambient capabilities). */}}
      {{- toYaml (merge (dict "runAsNonRoot" false "runAsUser" 0 "capabilities" (dict "drop" (list "ALL") "add" (list "NET_RAW"))) (omit $v.containerSecurityContext "runAsNonRoot" "runAsUser" "capabilities")) | nindent 6 }}
      {{- else }}
      {{- toYaml $v.containerSecurityContext | nindent 6 }}
      {{- end }}
    livenessProbe:
      httpGet:
        path: /healthz
        port: metrics
      {{- toYaml $v.livenessProbe | nindent 6 }}
    readinessProbe:
      httpGet:
        path: /readyz
        port: metrics
      {{- toYaml $v.readinessProbe | nindent 6 }}
    resources:
      {{- toYaml .cfg.resources | nindent 6 }}
    {{- with .mounts }}
    volumeMounts:
      {{- toYaml . | nindent 6 }}
    {{- end }}
{{- with .volumes }}
volumes:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $tol := concat ($v.tolerations | default list) (.cfg.tolerations | default list) }}
{{- with $tol }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
honeypods.podMeta: pod template metadata of one decoy or the enricher. Argument: (dict "root" $ "name" <app>).
*/}}
{{- define "honeypods.podMeta" -}}
labels:
  {{- include "honeypods.decoyLabels" . | nindent 2 }}
  {{- with .root.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .root.Values.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
honeypods.directAlertingEnv: the direct-alerting settings (values directAlerting) as EnvVars;
the alerts carry the namespace label, as the PrometheusRule's do.
*/}}
{{- define "honeypods.directAlertingEnv" -}}
{{- $a := .Values.directAlerting }}
{{- if or $a.alertmanagerUrl $a.webhookUrl $a.secretName }}
{{- with $a.alertmanagerUrl }}
- name: HONEYPODS_ALERTMANAGER_URL
  value: {{ . | quote }}
{{- end }}
{{- with $a.webhookUrl }}
- name: HONEYPODS_WEBHOOK_URL
  value: {{ . | quote }}
{{- end }}
{{- $labels := list }}
{{- range $k, $v := merge (dict) $a.labels (dict "namespace" (include "honeypods.namespace" .)) }}
{{- $labels = append $labels (printf "%s=%s" $k $v) }}
{{- end }}
- name: HONEYPODS_ALERT_LABELS
  value: {{ $labels | sortAlpha | join "," | quote }}
{{- end }}
{{- end }}

{{/*
honeypods.commonEnv: the shared settings every process of the chart gets (decoys and enricher).
*/}}
{{- define "honeypods.commonEnv" -}}
{{- $v := .Values -}}
- name: HONEYPODS_HOST
  value: {{ $v.host | quote }}
- name: HONEYPODS_METRICS_HOST
  value: {{ $v.host | quote }}
- name: HONEYPODS_METRICS_PORT
  value: {{ $v.metrics.port | int | quote }}
- name: HONEYPODS_HOST_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: HONEYPODS_LOG_LEVEL
  value: {{ $v.logLevel | quote }}
- name: HONEYPODS_SUMMARY_INTERVAL
  value: {{ $v.summaryInterval | toString | quote }}
{{- end }}

{{/*
honeypods.decoyAlertingEnv: where a decoy sends its alert events. With the enricher on, only to
the enricher, which attributes them and does the direct alerting in the decoys' place; otherwise
straight to the receivers of directAlerting.
*/}}
{{- define "honeypods.decoyAlertingEnv" -}}
{{- if .Values.enricher.enabled }}
- name: HONEYPODS_WEBHOOK_URL
  value: {{ include "honeypods.enricherEventsUrl" . | quote }}
{{- if .Values.enricher.authToken.enabled }}
- name: HONEYPODS_WEBHOOK_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "honeypods.enricherTokenSecretName" . }}
      key: token
{{- end }}
{{- else }}
{{- include "honeypods.directAlertingEnv" . }}
{{- end }}
{{- end }}

{{/*
honeypods.enricherName: name of the enricher's Deployment, Service, ServiceAccount, RBAC objects,
NetworkPolicy, and its `app` label.
*/}}
{{- define "honeypods.enricherName" -}}
{{- printf "%s-enricher" (include "honeypods.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
honeypods.enricherTokenSecretName: the Secret holding the token of the enricher's POST /events.
*/}}
{{- define "honeypods.enricherTokenSecretName" -}}
{{- printf "%s-token" (include "honeypods.enricherName" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
honeypods.enricherEventsUrl: the decoys' webhook URL. The Service's namespace-qualified name, so a
decoy resolves it whatever its DNS search path.
*/}}
{{- define "honeypods.enricherEventsUrl" -}}
{{- printf "http://%s.%s.svc:%d/events" (include "honeypods.enricherName" .) (include "honeypods.namespace" .) (int .Values.enricher.port) }}
{{- end }}

{{/*
honeypods.decoyNames: the `app` labels of the enabled decoys, in the order the chart lists them.
*/}}
{{- define "honeypods.decoyNames" -}}
{{- $names := list }}
{{- range $decoy := list "portscan" "web" "mysql" "ssh" }}
{{- $cfg := index $.Values.decoys $decoy }}
{{- if $cfg.enabled }}{{ $names = append $names $cfg.name }}{{ end }}
{{- end }}
{{- $names | join "," }}
{{- end }}

{{/*
honeypods.dnsEgress: one egress rule for name lookups, to networkPolicy.dnsTo or, when that is
empty, to any address on port 53 (cluster DNS has no label every distribution agrees on).
*/}}
{{- define "honeypods.dnsEgress" -}}
{{- with .Values.networkPolicy.dnsTo }}
- to:
    {{- toYaml . | nindent 4 }}
  ports:
{{- else }}
- ports:
{{- end }}
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}

{{/*
honeypods.seedSecretName: the Secret holding the install's honeytoken seed.
*/}}
{{- define "honeypods.seedSecretName" -}}
{{- printf "%s-seed" (include "honeypods.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
honeypods.honeytoken: one honeytoken value, derived from the seed exactly as
src/honeypods/core/honeytokens.py does (_DERIVED): prefix + the first digits of
sha256_hex("honeypods/v1/<label>/<seed>"). Argument: (dict "seed" <seed> "name" <value name>).
*/}}
{{- define "honeypods.honeytoken" -}}
{{- $table := dict
  "mysql_user" (list "mysql.user" "svc_reports_" 4)
  "mysql_password" (list "mysql.password" "" 24)
  "ssh_user" (list "ssh.user" "deploy-" 4)
  "ssh_password" (list "ssh.password" "" 24)
  "api_token" (list "api.token" "opc_live_" 40) }}
{{- $row := index $table .name }}
{{- printf "%s%s" (index $row 1) (sha256sum (printf "honeypods/v1/%s/%s" (index $row 0) .seed) | trunc (index $row 2)) }}
{{- end }}

{{/*
honeypods.honeytokenPlacements: where the decoys plant honeytokens (HONEYPODS_HONEYTOKEN_PLACEMENTS),
comma-joined; empty when honeytokens are off.
*/}}
{{- define "honeypods.honeytokenPlacements" -}}
{{- $h := .Values.honeytokens }}
{{- $d := .Values.decoys }}
{{- $out := list }}
{{- if $h.enabled }}
{{- if and $h.dashboard $d.web.enabled }}{{ $out = append $out "dashboard" }}{{ end }}
{{- if and $h.database $d.mysql.enabled }}{{ $out = append $out "database" }}{{ end }}
{{- end }}
{{- $out | join "," }}
{{- end }}

{{/*
honeypods.honeytokenSecret: namespace/name of the decoy Secret holding honeytokens, or empty.
*/}}
{{- define "honeypods.honeytokenSecret" -}}
{{- $h := .Values.honeytokens }}
{{- if and $h.enabled $h.secret.enabled }}
{{- printf "%s/%s" (include "honeypods.namespace" .) $h.secret.name }}
{{- end }}
{{- end }}

{{/*
honeypods.mysqlAddress: host:port of the MySQL decoy as its Service names it (what the leaked
files and the decoy Secret give an intruder).
*/}}
{{- define "honeypods.mysqlAddress" -}}
{{- $m := .Values.decoys.mysql }}
{{- if $m.service.enabled }}
{{- printf "%s.%s.svc:%d" $m.service.name (include "honeypods.namespace" .) (int $m.service.port) }}
{{- else }}
{{- printf "%s:%d" $m.name (int $m.port) }}
{{- end }}
{{- end }}

{{/*
honeypods.honeytokenEnv: the honeytoken settings of a decoy pod (web, MySQL, SSH).
*/}}
{{- define "honeypods.honeytokenEnv" -}}
- name: HONEYPODS_PERSONA_SEED
  valueFrom:
    secretKeyRef:
      name: {{ include "honeypods.seedSecretName" . }}
      key: seed
{{- if .Values.honeytokens.enabled }}
- name: HONEYPODS_HONEYTOKEN_PLACEMENTS
  value: {{ include "honeypods.honeytokenPlacements" . | quote }}
- name: HONEYPODS_HONEYTOKEN_SECRET
  value: {{ include "honeypods.honeytokenSecret" . | quote }}
- name: HONEYPODS_HONEYTOKEN_MYSQL_ADDRESS
  value: {{ include "honeypods.mysqlAddress" . | quote }}
{{- end }}
{{- end }}

{{/*
The web decoy's HTTPS server names (its server_name and the certificate's SANs): decoys.web.tls.sans,
then the DNS names of the Service in front of the HTTPS port, one per search-path form.
*/}}
{{- define "honeypods.webServerNames" -}}
{{- $w := .Values.decoys.web }}
{{- $ns := include "honeypods.namespace" . }}
{{- $names := list }}
{{- range $w.tls.sans }}{{ $names = append $names . }}{{ end }}
{{- if $w.services.internal.enabled }}
{{- $svc := $w.services.internal.name }}
{{- $names = concat $names (list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain)) }}
{{- end }}
{{- uniq $names | join "," }}
{{- end }}
