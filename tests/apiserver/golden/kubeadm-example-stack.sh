#!/usr/bin/env bash
# irsa host script for kubeadm: makes kube-apiserver sign service-account
# tokens for an external OIDC issuer (IAM Roles for Service Accounts).
# Rendered by irsa (irsa/apiserver) from the Pulumi stack; do not edit.
# Runs as root with the script on stdin: bash -s -- apply | bash -s -- revert
set -euo pipefail

# --- inputs ---
IRSA_ISSUER=https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main
IRSA_AUDIENCE=sts.amazonaws.com
IRSA_API_AUDIENCES=https://kubernetes.default.svc
IRSA_KEY_DIR=/opt/k8s
IRSA_READY_TIMEOUT=300
IRSA_RESTART_WORKLOADS=false
IRSA_KEY_IDS=(<key id>)
IRSA_PUBLIC_KEYS=(
  '<public key PEM>
'
)
IRSA_SIGNING_KEY='<signing private key PEM>
'

KUBEADM_MANIFEST=/etc/kubernetes/manifests/kube-apiserver.yaml
KUBEADM_PRISTINE=/etc/kubernetes/irsa/kube-apiserver.yaml.irsa-pristine
KUBEADM_PREVIOUS=/etc/kubernetes/irsa/kube-apiserver.yaml.irsa-previous
KUBEADM_KUBECONFIG=/etc/kubernetes/admin.conf
KUBEADM_MARK_ADDED='# irsa:added (the next line; irsa revert removes it)'
KUBEADM_MARK_COMMENTED='# irsa:commented (the next line; irsa revert uncomments it)'

# --- shared by every distribution (irsa/apiserver/common.sh) ---
# A distribution section defines irsa_apply, irsa_revert, irsa_issue_token and irsa_kubectl.

# Tests point this at a fake host; on a real host every path is used as it is.
IRSA_HOST_ROOT=${IRSA_HOST_ROOT:-/}
IRSA_TEMP_FILES=()
IRSA_CREATED_FILES=()
IRSA_KEYS_CHANGED=false
IRSA_PROBLEM=""

irsa_log() { printf 'irsa: %s\n' "$*"; }
irsa_fail() { printf 'irsa: error: %s\n' "$*" >&2; exit 1; }

irsa_host_path() { printf '%s%s' "${IRSA_HOST_ROOT%/}" "$1"; }

irsa_cleanup() {
  local f
  for f in "${IRSA_TEMP_FILES[@]}"; do rm -f -- "$f"; done
}

irsa_require_root() {
  [ "$(id -u)" -eq 0 ] || irsa_fail "must run as root (the command line goes through sudo -n for other users)"
}

# Sets IRSA_TEMP to a new empty file next to $1 (mode 0600), so a rename into place is atomic.
irsa_temp_next_to() {
  IRSA_TEMP=$(mktemp "$(dirname -- "$1")/.irsa-tmp.XXXXXX")
  IRSA_TEMP_FILES+=("$IRSA_TEMP")
}

# Give file $2 the owner and mode of file $1.
irsa_own_like() {
  chown --reference="$1" -- "$2"
  chmod --reference="$1" -- "$2"
}

# Move temp file $2 over $1 in one rename, keeping $1's owner and mode.
irsa_replace_file() {
  irsa_own_like "$1" "$2"
  mv -f -- "$2" "$1"
}

# Copy $1 to $2 atomically, with the owner and mode of $3 (default: $1).
irsa_copy_file() {
  irsa_temp_next_to "$2"
  cat -- "$1" >"$IRSA_TEMP"
  irsa_own_like "${3:-$1}" "$IRSA_TEMP"
  mv -f -- "$IRSA_TEMP" "$2"
}

# awk ends every line with a newline: give $2 the last byte of $1, so lines we
# do not manage stay byte for byte what they were.
irsa_match_final_newline() {
  if [ -s "$1" ] && [ -n "$(tail -c 1 -- "$1")" ] && [ -s "$2" ]; then
    truncate -s -1 -- "$2"
  fi
}

# Write stdin to host path $1 with mode $2, owned by root, unless it already
# holds exactly that. Sets IRSA_WROTE; remembers files it created.
irsa_install_file() {
  local dest=$1 mode=$2
  irsa_temp_next_to "$dest"
  cat >"$IRSA_TEMP"
  if [ -f "$dest" ] && cmp -s -- "$IRSA_TEMP" "$dest"; then
    rm -f -- "$IRSA_TEMP"
    chown 0:0 -- "$dest"
    chmod "$mode" -- "$dest"
    IRSA_WROTE=false
    return 0
  fi
  [ -e "$dest" ] || IRSA_CREATED_FILES+=("$dest")
  chown 0:0 -- "$IRSA_TEMP"
  chmod "$mode" -- "$IRSA_TEMP"
  mv -f -- "$IRSA_TEMP" "$dest"
  IRSA_WROTE=true
}

# Key files as the API server names them (without IRSA_HOST_ROOT). The key id
# in the name keeps an older key's file in place while a rollback may need it.
irsa_public_key_path() { printf '%s/irsa-sa-%s.pub' "$IRSA_KEY_DIR" "$1"; }
irsa_signing_key_path() { printf '%s/irsa-sa-%s.key' "$IRSA_KEY_DIR" "${IRSA_KEY_IDS[0]}"; }

irsa_is_our_key_file() {
  case ${1##*/} in irsa-sa-*.pub | irsa-sa-*.key) return 0 ;; *) return 1 ;; esac
}

irsa_report_file() { # $1 host path, $2 what it is
  if [ "$IRSA_WROTE" = true ]; then
    IRSA_KEYS_CHANGED=true
    irsa_log "wrote $1 ($2)"
  else
    irsa_log "$1 unchanged ($2)"
  fi
}

# Keys go through the printf builtin and a pipe: never onto a command line.
irsa_install_keys() {
  local dir path i
  dir=$(irsa_host_path "$IRSA_KEY_DIR")
  if [ ! -d "$dir" ]; then
    mkdir -p -m 0755 -- "$dir"
    irsa_log "created $dir"
  fi
  path=$(irsa_host_path "$(irsa_signing_key_path)")
  irsa_install_file "$path" 0600 < <(printf '%s' "$IRSA_SIGNING_KEY")
  irsa_report_file "$path" "signing key, 0600"
  for i in "${!IRSA_KEY_IDS[@]}"; do
    path=$(irsa_host_path "$(irsa_public_key_path "${IRSA_KEY_IDS[$i]}")")
    irsa_install_file "$path" 0644 < <(printf '%s' "${IRSA_PUBLIC_KEYS[$i]}")
    irsa_report_file "$path" "verification key, 0644"
  done
}

# Remove key files named by the API server's paths in the arguments; only ours.
irsa_remove_key_files() {
  local path
  for path in "$@"; do
    irsa_is_our_key_file "$path" || continue
    if [ -e "$(irsa_host_path "$path")" ]; then
      rm -f -- "$(irsa_host_path "$path")"
      irsa_log "removed $(irsa_host_path "$path")"
    fi
  done
}

# Our key files in the key directory, as the API server names them.
irsa_key_dir_files() {
  local file
  for file in "$(irsa_host_path "$IRSA_KEY_DIR")"/irsa-sa-*; do
    if irsa_is_our_key_file "$file" && [ -e "$file" ]; then
      printf '%s\n' "$IRSA_KEY_DIR/${file##*/}"
    fi
  done
}

irsa_contains() { # $1 needle, rest haystack
  local needle=$1 item
  shift
  for item in "$@"; do [ "$item" = "$needle" ] && return 0; done
  return 1
}

irsa_b64url_decode() {
  local s
  s=$(printf '%s' "$1" | tr '_-' '/+')
  case $((${#s} % 4)) in 2) s="$s==" ;; 3) s="$s=" ;; esac
  printf '%s' "$s" | base64 -d
}

# The string value of field $2 in the flat JSON object $1 (enough for JWT headers and claims).
irsa_json_string() {
  printf '%s' "$1" | sed -n "s/.*\"$2\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p"
}

# Ask the API server for a token and check who signed it. The token itself is
# never printed and never passed to another program's command line.
irsa_self_check() {
  local token header rest claims iss kid errors
  irsa_log "self-check: asking the API server for a token with audience $IRSA_AUDIENCE"
  errors=$(mktemp)
  IRSA_TEMP_FILES+=("$errors")
  if ! token=$(irsa_issue_token "$IRSA_AUDIENCE" 2>"$errors"); then
    IRSA_PROBLEM="self-check failed: the API server gave no token: $(tail -n 3 -- "$errors" | tr '\n' ' ')"
    return 1
  fi
  header=$(irsa_b64url_decode "${token%%.*}" 2>/dev/null || true)
  rest=${token#*.}
  claims=$(irsa_b64url_decode "${rest%%.*}" 2>/dev/null || true)
  iss=$(irsa_json_string "$claims" iss)
  kid=$(irsa_json_string "$header" kid)
  if [ "$iss" != "$IRSA_ISSUER" ]; then
    IRSA_PROBLEM="self-check failed: new tokens carry iss '$iss', expected '$IRSA_ISSUER'"
    return 1
  fi
  if [ "$kid" != "${IRSA_KEY_IDS[0]}" ]; then
    IRSA_PROBLEM="self-check failed: new tokens carry kid '$kid', expected the signing key's id '${IRSA_KEY_IDS[0]}'"
    return 1
  fi
  irsa_log "self-check passed: new tokens carry iss $iss and kid $kid"
}

# Opt-in (irsa:restartWorkloads): a rolling restart lets controllers replace
# pods one by one so they get tokens at once; no pod is deleted by us.
irsa_restart_workloads() {
  local list namespace kind name count=0
  irsa_log "restarting deployments, daemonsets and statefulsets (irsa:restartWorkloads is true)"
  list=$(irsa_kubectl get deployments,daemonsets,statefulsets --all-namespaces \
    -o jsonpath='{range .items[*]}{.metadata.namespace} {.kind} {.metadata.name}{"\n"}{end}')
  while read -r namespace kind name; do
    [ -n "$name" ] || continue
    irsa_kubectl rollout restart -n "$namespace" "${kind,,}/$name" >/dev/null
    count=$((count + 1))
  done <<<"$list"
  irsa_log "rolling restart started for $count workloads"
}

irsa_main() {
  trap irsa_cleanup EXIT
  irsa_require_root
  case ${1:-} in
    apply) irsa_apply ;;
    revert) irsa_revert ;;
    *) irsa_fail "usage: bash -s -- apply|revert, with this script on stdin" ;;
  esac
}

# --- waiting for an API server that has no "wait until ready" command (irsa/apiserver/poll.sh) ---

# Run "$@" about once a second until it succeeds, for at most $1 seconds.
irsa_poll() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 1
  done
}

# --- who signs new tokens, for the 'accept' phase (irsa/apiserver/signer.sh) ---
# 'accept' makes the API server accept irsa's issuer and keys without signing
# with them: a fresh token's issuer and key id must be the same after the
# change as before it.

# Prints "ISS KID" of a fresh token. The token itself is never printed.
irsa_current_signer() {
  local token header rest claims
  token=$(irsa_issue_token "$IRSA_AUDIENCE" 2>/dev/null) || return 1
  header=$(irsa_b64url_decode "${token%%.*}" 2>/dev/null || true)
  rest=${token#*.}
  claims=$(irsa_b64url_decode "${rest%%.*}" 2>/dev/null || true)
  printf '%s %s' "$(irsa_json_string "$claims" iss)" "$(irsa_json_string "$header" kid)"
}

# Sets IRSA_SIGNER_BEFORE, or stops: 'accept' needs an API server that answers.
irsa_note_signer() {
  IRSA_SIGNER_BEFORE=$(irsa_current_signer) ||
    irsa_fail "the API server gave no token before the change: 'accept' needs a running API server; nothing was changed"
  irsa_log "signer before the change: iss ${IRSA_SIGNER_BEFORE% *} kid ${IRSA_SIGNER_BEFORE#* }"
}

# After the change: the same issuer and key still sign. Sets IRSA_PROBLEM when not.
irsa_signer_check() {
  local now
  irsa_log "self-check: asking the API server for a token with audience $IRSA_AUDIENCE"
  if ! now=$(irsa_current_signer); then
    IRSA_PROBLEM="self-check failed: the API server gave no token"
    return 1
  fi
  if [ "$now" != "$IRSA_SIGNER_BEFORE" ]; then
    IRSA_PROBLEM="self-check failed: new tokens carry iss '${now% *}' and kid '${now#* }'; 'accept' must leave iss '${IRSA_SIGNER_BEFORE% *}' and kid '${IRSA_SIGNER_BEFORE#* }' signing"
    return 1
  fi
  irsa_log "self-check passed: new tokens still carry iss ${now% *} and kid ${now#* }"
}

# Only the public keys: in 'accept' the host verifies with them and signs with nothing of irsa's.
irsa_install_public_keys() {
  local dir path i
  dir=$(irsa_host_path "$IRSA_KEY_DIR")
  if [ ! -d "$dir" ]; then
    mkdir -p -m 0755 -- "$dir"
    irsa_log "created $dir"
  fi
  for i in "${!IRSA_KEY_IDS[@]}"; do
    path=$(irsa_host_path "$(irsa_public_key_path "${IRSA_KEY_IDS[$i]}")")
    irsa_install_file "$path" 0644 < <(printf '%s' "${IRSA_PUBLIC_KEYS[$i]}")
    irsa_report_file "$path" "verification key, 0644"
  done
}

# --- kubeadm: the kube-apiserver static pod manifest, edited line by line (irsa/apiserver/kubeadm.sh) ---
# kubeadm writes one "- --flag=value" line per argument of the container's
# command. irsa adds its lines, each under a YAML comment marker of its own,
# and comments out (does not delete) the lines it overrides, so revert gives
# the file back byte for byte. Backups live outside the manifest folder: the
# kubelet runs every file there whose name does not start with a dot.

irsa_issue_token() { kubeadm_kubectl create token default -n default --audience "$1"; }
irsa_kubectl() { kubeadm_kubectl "$@"; }

# admin.conf names the control-plane endpoint, which on a cluster of several
# nodes may reach another node's API server: ask this node's own, at the
# address kubeadm notes in the manifest (kubeadm.kubernetes.io/
# kube-apiserver.advertise-address.endpoint; that address is in its certificate).
KUBEADM_SERVER=""
kubeadm_kubectl() { kubectl --kubeconfig "$KUBEADM_KUBECONFIG" ${KUBEADM_SERVER:+--server "https://$KUBEADM_SERVER"} "$@"; }

kubeadm_preflight() { # $1: the manifest on this host
  [ -f "$1" ] || irsa_fail "kubeadm control plane not found: $1 is missing (run irsa against a control-plane node)"
  local program
  for program in kubectl crictl; do
    command -v "$program" >/dev/null || irsa_fail "no $program command on PATH: irsa needs it to see the kubelet replace kube-apiserver"
  done
  KUBEADM_SERVER=$(sed -n 's/^ *kubeadm\.kubernetes\.io\/kube-apiserver\.advertise-address\.endpoint: *//p' "$1" | head -n 1)
  irsa_log "preflight: kube-apiserver static pod found ($1), running as root; API server of this node: ${KUBEADM_SERVER:-as in the kubeconfig}"
}

kubeadm_backup_dir() { irsa_host_path "${KUBEADM_PRISTINE%/*}"; }

# stdin → stdout: the manifest without anything irsa added or commented.
kubeadm_strip_marked() {
  awk -v added="$KUBEADM_MARK_ADDED" -v commented="$KUBEADM_MARK_COMMENTED" '
    function bare(line) { sub(/^[ \t]+/, "", line); return line }
    pending == "added" { pending = ""; next }
    pending == "commented" { pending = ""; sub(/^#/, ""); print; next }
    bare($0) == added { pending = "added"; next }
    bare($0) == commented { pending = "commented"; next }
    { print }'
}

# The manifest irsa wants, from irsa's inputs and the manifest as irsa found it
# ($1, without irsa lines; read twice). irsa's block goes before the first
# issuer: the first issuer signs, the later ones stay accepted. The signing key
# and the audiences take one value: their lines are commented where they stand.
# The audiences keep what the API server accepted before (its --api-audiences,
# or else its issuers, the default) so that tokens pods hold stay valid. A line
# that already names irsa's issuer or one of its key files (a host set up by
# hand) is commented too: kube-apiserver refuses an issuer given twice.
# kube-apiserver runs in a container that sees only the host folders mounted
# into it: unless irsa:keyDir is inside one (kubeadm mounts /etc/kubernetes/pki
# at the same path), irsa adds a read-only hostPath volume for it.
# $2 accept: irsa's issuer goes after the first other issuer and the signing
# key stays as it is, so irsa's issuer and keys are accepted, not used to sign.
# Exit 3: no issuer line; exit 4: no volumeMounts or volumes list to add to.
kubeadm_add_marked() {
  local kid keys=""
  for kid in "${IRSA_KEY_IDS[@]}"; do keys+="$(irsa_public_key_path "$kid")"$'\n'; done
  KUBEADM_KEYS=$keys KUBEADM_SIGNING=$(irsa_signing_key_path) \
    awk -v added="$KUBEADM_MARK_ADDED" -v commented="$KUBEADM_MARK_COMMENTED" \
    -v issuer="$IRSA_ISSUER" -v irsa_audiences="$IRSA_API_AUDIENCES" -v key_dir="$IRSA_KEY_DIR" -v phase="${2:-apply}" '
    function bare(line) { sub(/^[ \t]+/, "", line); return line }
    function flag(line) {
      sub(/^[ \t]+/, "", line)
      if (line !~ /^- --/) return ""
      sub(/^- /, "", line)
      sub(/=.*$/, "", line)
      return line
    }
    function value(line) { return index(line, "=") ? substr(line, index(line, "=") + 1) : "" }
    function indent(line) { match(line, /^[ \t]*/); return substr(line, 1, RLENGTH) }
    function add(list, items,   n, parts, i, j, m, have, seen) {
      n = split(items, parts, ",")
      for (i = 1; i <= n; i++) {
        seen = 0
        m = split(list, have, ",")
        for (j = 1; j <= m; j++) if (have[j] == parts[i]) seen = 1
        if (!seen && parts[i] != "") list = (list == "" ? parts[i] : list "," parts[i])
      }
      return list
    }
    function mark(at, line) { print at added; print at line }
    BEGIN {
      n = split(ENVIRON["KUBEADM_KEYS"], list, "\n")
      for (i = 1; i <= n; i++) if (list[i] != "") { keys[++nkeys] = list[i]; ours[list[i]] = 1 }
    }
    NR == FNR {
      f = flag($0)
      if (f == "--api-audiences") { had_audiences = 1; before = add(before, value($0)) }
      if (f == "--service-account-issuer" && value($0) != issuer) issuers = add(issuers, value($0))
      line = bare($0)
      sub(/^- /, "", line)
      if (line ~ /^mountPath: /) {
        path = substr(line, 12)
        if (path == key_dir || path == "/" || index(key_dir, path "/") == 1) mounted = 1
      }
      next
    }
    FNR == 1 { audiences = add(irsa_audiences, had_audiences ? before : issuers) }
    { f = flag($0); v = value($0) }
    pending == "mount" {
      at = indent($0)
      mark(at, "- mountPath: " key_dir)
      mark(at, "  name: irsa-keys")
      mark(at, "  readOnly: true")
      pending = ""
      mount_added = 1
    }
    pending == "volume" {
      at = indent($0)
      mark(at, "- hostPath:")
      mark(at, "    path: " key_dir)
      mark(at, "    type: DirectoryOrCreate")
      mark(at, "  name: irsa-keys")
      pending = ""
      volume_added = 1
    }
    !mounted && !mount_added && bare($0) == "volumeMounts:" { print; pending = "mount"; next }
    !mounted && !volume_added && bare($0) == "volumes:" { print; pending = "volume"; next }
    function block(at) {
      mark(at, "- --service-account-issuer=" issuer)
      for (i = 1; i <= nkeys; i++) mark(at, "- --service-account-key-file=" keys[i])
      if (phase != "accept") mark(at, "- --service-account-signing-key-file=" ENVIRON["KUBEADM_SIGNING"])
      mark(at, "- --api-audiences=" audiences)
      inserted = 1
    }
    phase != "accept" && !inserted && f == "--service-account-issuer" { block(indent($0)) }
    (f == "--service-account-signing-key-file" && phase != "accept") || f == "--api-audiences" ||
    (f == "--service-account-issuer" && v == issuer) || (f == "--service-account-key-file" && v in ours) {
      print indent($0) commented
      print "#" $0
      next
    }
    { print }
    phase == "accept" && !inserted && f == "--service-account-issuer" { block(indent($0)) }
    END {
      if (!inserted) exit 3
      if (!mounted && !(mount_added && volume_added)) exit 4
    }' "$1" "$1"
}

# The key files that irsa's lines in manifest $1 name, as the API server sees them.
kubeadm_marked_key_paths() {
  awk -v added="$KUBEADM_MARK_ADDED" '
    function bare(line) { sub(/^[ \t]+/, "", line); return line }
    pending { pending = 0; line = bare($0); if (sub(/^- --service-account-(signing-)?key-file=/, "", line)) print line; next }
    bare($0) == added { pending = 1 }' "$1"
}

# The running kube-apiserver container's id, or nothing.
kubeadm_container() { crictl ps --name kube-apiserver --state running -q 2>/dev/null | head -n 1 || true; }

kubeadm_replaced_and_ready() { # $1: the container id that must be gone ("" for any)
  local id
  id=$(kubeadm_container)
  [ -n "$id" ] && [ "$id" != "$1" ] &&
    [ "$(kubeadm_kubectl get --raw /readyz 2>/dev/null)" = ok ]
}

kubeadm_wait() { # $1: the container id before the change ("" for any)
  irsa_log "waiting for the kubelet to replace kube-apiserver: a new running container (crictl ps) answering /readyz (up to ${IRSA_READY_TIMEOUT}s)"
  if ! irsa_poll "$IRSA_READY_TIMEOUT" kubeadm_replaced_and_ready "$1"; then
    IRSA_PROBLEM="the kubelet's new kube-apiserver was not ready within ${IRSA_READY_TIMEOUT}s (crictl ps -a --name kube-apiserver, then crictl logs ID, says why)"
    return 1
  fi
  irsa_log "kube-apiserver is ready (container $(kubeadm_container))"
}

# Sets IRSA_TEMP to a temp file next to $2 holding filter $1's output for file $3
# (default: $2), ending like $2 does. Temp names start with a dot: the kubelet skips them.
kubeadm_filtered_copy() {
  irsa_temp_next_to "$2"
  "$1" <"${3:-$2}" >"$IRSA_TEMP"
  irsa_match_final_newline "$2" "$IRSA_TEMP"
}

# Put the previous manifest back, wait for the kubelet, then stop with a message saying so.
kubeadm_roll_back() { # $1 manifest, $2 previous copy, $3 rewritten?, $4 container before the change
  local why=$IRSA_PROBLEM what path kept_path running
  local -a kept=()
  irsa_log "rolling back: $why"
  running=$(kubeadm_container)
  if [ "$3" = true ]; then
    irsa_copy_file "$2" "$1"
    what="$1 holds the previous manifest again (a copy stays at $2)"
  else
    what="$1 was not changed"
  fi
  while IFS= read -r kept_path; do
    kept+=("$(irsa_host_path "$kept_path")")
  done < <(kubeadm_marked_key_paths "$1")
  for path in "${IRSA_CREATED_FILES[@]}"; do
    if ! irsa_contains "$path" "${kept[@]}"; then
      rm -f -- "$path"
      irsa_log "removed $path"
    fi
  done
  # The container still running the previous manifest needs no replacement.
  if [ "$3" = false ] || [ "$running" = "$4" ]; then running=""; fi
  if kubeadm_wait "$running"; then
    irsa_fail "$why. The change was rolled back: $what, new key files were removed, and kube-apiserver is ready with its previous configuration."
  fi
  irsa_fail "$why. The change was rolled back ($what), but kube-apiserver is still not ready: $IRSA_PROBLEM"
}

# After a successful change: remove key files that only the previous manifest named.
kubeadm_remove_stale_keys() { # $1 previous manifest, $2 current manifest
  local path
  local -a now
  mapfile -t now < <(kubeadm_marked_key_paths "$2")
  while IFS= read -r path; do
    if ! irsa_contains "$path" "${now[@]}"; then irsa_remove_key_files "$path"; fi
  done < <(kubeadm_marked_key_paths "$1")
}

# apply: irsa's issuer and key sign. accept: they are only accepted (a first
# phase when several control-plane nodes must all accept before any signs).
kubeadm_change() { # $1: apply or accept
  local phase=$1 manifest pristine previous clean desired before="" wrote=false rc=0
  manifest=$(irsa_host_path "$KUBEADM_MANIFEST")
  pristine=$(irsa_host_path "$KUBEADM_PRISTINE")
  previous=$(irsa_host_path "$KUBEADM_PREVIOUS")
  kubeadm_preflight "$manifest"
  if [ "$phase" = accept ]; then
    irsa_note_signer
    irsa_install_public_keys
  else
    irsa_install_keys
  fi
  kubeadm_filtered_copy kubeadm_strip_marked "$manifest"
  clean=$IRSA_TEMP
  irsa_temp_next_to "$manifest"
  desired=$IRSA_TEMP
  kubeadm_add_marked "$clean" "$phase" >"$desired" || rc=$?
  case $rc in
    0) ;;
    4) irsa_fail "$manifest has no volumeMounts and volumes lists to mount $IRSA_KEY_DIR into kube-apiserver: not a manifest kubeadm wrote; nothing was changed" ;;
    *) irsa_fail "$manifest has no '- --service-account-issuer=…' line in its command: not a manifest kubeadm wrote; nothing was changed" ;;
  esac
  irsa_match_final_newline "$manifest" "$desired"
  if cmp -s -- "$desired" "$manifest"; then
    irsa_log "$manifest already carries these flags: not written"
  else
    mkdir -p -m 0700 -- "$(kubeadm_backup_dir)"
    if [ ! -e "$pristine" ]; then
      irsa_copy_file "$clean" "$pristine" "$manifest"
      irsa_log "kept the manifest as irsa found it: $pristine"
    fi
    irsa_copy_file "$manifest" "$previous"
    before=$(kubeadm_container)
    irsa_replace_file "$manifest" "$desired"
    wrote=true
    irsa_log "rewrote $manifest (the file before: $previous); the kubelet replaces the pod"
  fi
  if [ "$wrote" = false ]; then
    if [ "$IRSA_KEYS_CHANGED" = true ]; then
      irsa_log "key files rewritten; the manifest is unchanged, so the kubelet keeps the running kube-apiserver"
    else
      irsa_log "nothing changed on this host: no restart"
    fi
    kubeadm_check "$phase" || irsa_fail "$IRSA_PROBLEM"
  else
    kubeadm_wait "$before" || kubeadm_roll_back "$manifest" "$previous" "$wrote" "$before"
    kubeadm_check "$phase" || kubeadm_roll_back "$manifest" "$previous" "$wrote" "$before"
    kubeadm_remove_stale_keys "$previous" "$manifest"
    if [ "$IRSA_RESTART_WORKLOADS" = true ] && [ "$phase" = apply ]; then irsa_restart_workloads; fi
  fi
  if [ "$phase" = accept ]; then
    irsa_log "done: kube-apiserver accepts tokens from $IRSA_ISSUER; its signer is unchanged"
  else
    irsa_log "done: kube-apiserver signs service-account tokens for $IRSA_ISSUER"
  fi
}

kubeadm_check() { # $1: the phase
  if [ "$1" = accept ]; then irsa_signer_check; else irsa_self_check; fi
}

irsa_apply() { kubeadm_change apply; }
irsa_accept() { kubeadm_change accept; }

irsa_revert() {
  local manifest previous clean why before
  local -a ours=() in_key_dir=()
  manifest=$(irsa_host_path "$KUBEADM_MANIFEST")
  previous=$(irsa_host_path "$KUBEADM_PREVIOUS")
  mapfile -t in_key_dir < <(irsa_key_dir_files)
  if [ ! -f "$manifest" ]; then
    irsa_log "$manifest not found (control plane removed?): no flags to revert"
    irsa_remove_key_files "${in_key_dir[@]}"
    return 0
  fi
  kubeadm_preflight "$manifest"
  mapfile -t ours < <(kubeadm_marked_key_paths "$manifest")
  kubeadm_filtered_copy kubeadm_strip_marked "$manifest"
  clean=$IRSA_TEMP
  if cmp -s -- "$clean" "$manifest"; then
    irsa_log "$manifest carries no irsa lines: not written"
  else
    mkdir -p -m 0700 -- "$(kubeadm_backup_dir)"
    irsa_copy_file "$manifest" "$previous"
    before=$(kubeadm_container)
    irsa_replace_file "$manifest" "$clean"
    irsa_log "removed irsa's lines from $manifest (the file before: $previous)"
    if ! kubeadm_wait "$before"; then
      why=$IRSA_PROBLEM
      before=$(kubeadm_container)
      irsa_copy_file "$previous" "$manifest"
      kubeadm_wait "$before" || true
      irsa_fail "$why. The revert was rolled back: $manifest holds irsa's flags again and the key files stay; run it again (pulumi destroy) once kube-apiserver is healthy."
    fi
    if [ "$IRSA_RESTART_WORKLOADS" = true ]; then irsa_restart_workloads; fi
  fi
  irsa_remove_key_files "${ours[@]}" "${in_key_dir[@]}"
  kubeadm_forget_backups "$manifest"
  irsa_log "done: kube-apiserver is configured as irsa found it"
}

# After a revert: the backups are no longer needed if the manifest is as irsa found it.
kubeadm_forget_backups() { # $1 manifest
  local pristine previous
  pristine=$(irsa_host_path "$KUBEADM_PRISTINE")
  previous=$(irsa_host_path "$KUBEADM_PREVIOUS")
  if [ -e "$pristine" ] && ! cmp -s -- "$pristine" "$1"; then
    irsa_log "kept $pristine: $1 differs from the manifest irsa first found (edited or upgraded since?)"
    return 0
  fi
  if [ -e "$pristine" ] || [ -e "$previous" ]; then
    rm -f -- "$pristine" "$previous"
    rmdir -- "$(kubeadm_backup_dir)" 2>/dev/null || true
    irsa_log "removed the backups in $(kubeadm_backup_dir)"
  fi
}

irsa_main "$@" </dev/null
