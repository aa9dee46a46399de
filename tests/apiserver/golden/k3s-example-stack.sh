#!/usr/bin/env bash
# irsa host script for k3s: makes kube-apiserver sign service-account
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

K3S_CONFIG_DIR=/etc/rancher/k3s
K3S_DROP_IN=/etc/rancher/k3s/config.yaml.d/99-irsa.yaml
K3S_SERVICE=k3s
K3S_MARK_CREATED_DIR='# irsa created config.yaml.d: irsa revert removes it when it is empty.'

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

# --- k3s: one drop-in file of irsa's own in config.yaml.d (irsa/apiserver/k3s.sh) ---
# k3s reads config.yaml, then config.yaml.d/*.yaml and *.yml in lexical order; a
# key ending in '+' appends to the list the earlier files built (k3s
# pkg/configfilearg/parser.go). irsa never edits the user's files: revert deletes
# irsa's drop-in, so the configuration is exactly what it was.

irsa_issue_token() { k3s kubectl create token default -n default --audience "$1"; }
irsa_kubectl() { k3s kubectl "$@"; }

k3s_preflight() {
  [ -d "$(irsa_host_path "$K3S_CONFIG_DIR")" ] ||
    irsa_fail "k3s not found: $(irsa_host_path "$K3S_CONFIG_DIR") is missing (install a k3s server first)"
  command -v k3s >/dev/null || irsa_fail "k3s not found: no k3s command on PATH"
  command -v systemctl >/dev/null || irsa_fail "no systemctl command on PATH: cannot restart $K3S_SERVICE"
  irsa_log "preflight: k3s found ($(irsa_host_path "$K3S_CONFIG_DIR")), running as root"
}

# The files k3s reads besides irsa's drop-in: config.yaml, then the other drop-ins.
k3s_user_files() { # $1 config dir, $2 irsa's drop-in
  local f
  if [ -f "$1/config.yaml" ]; then printf '%s\n' "$1/config.yaml"; fi
  for f in "$1/config.yaml.d"/*; do
    [ -f "$f" ] && [ "$f" != "$2" ] || continue
    case ${f,,} in *.yaml | *.yml) printf '%s\n' "$f" ;; esac
  done
}

# kube-apiserver refuses an issuer given twice. A host set up by hand may pass
# irsa's issuer already; irsa does not edit the user's files, so it stops and says where.
k3s_refuse_our_issuer_elsewhere() { # $1 config dir, $2 irsa's drop-in
  local file
  while IFS= read -r file; do
    if awk -v issuer="$IRSA_ISSUER" '
      /service-account-issuer/ {
        at = index($0, "=" issuer)
        if (at && substr($0, at + 1 + length(issuer), 1) ~ /^([\047"[:space:]]|)$/) found = 1
      }
      END { exit !found }' "$file"; then
      irsa_fail "$file already passes --service-account-issuer=$IRSA_ISSUER to kube-apiserver, which refuses an issuer given twice: remove that entry there (irsa adds it in $(irsa_host_path "$K3S_DROP_IN")) and run again"
    fi
  done < <(k3s_user_files "$1" "$2")
}

# The drop-in irsa wants, from irsa's inputs. $1: whether irsa created
# config.yaml.d; $2: the phase, apply or accept.
# A flag name ending in '-' goes before k3s's own value (or the user's), one
# ending in '+' after it (k3s GetArgs). apply: irsa's issuer signs, the
# previous issuer, keys and audiences stay accepted; irsa's signing key replaces
# k3s's. accept: irsa's issuer and keys come after, accepted only; k3s's (or the
# user's) issuer and signing key go on signing.
k3s_drop_in_text() {
  local i position=-
  [ "$2" = accept ] && position=+
  printf '%s\n' "# Written by irsa (IAM Roles for Service Accounts); irsa revert deletes this file."
  if [ "$1" = true ]; then printf '%s\n' "$K3S_MARK_CREATED_DIR"; fi
  printf '%s\n' "kube-apiserver-arg+:"
  printf -- '- "service-account-issuer%s=%s"\n' "$position" "$IRSA_ISSUER"
  if [ "$2" = accept ]; then
    for i in "${!IRSA_KEY_IDS[@]}"; do
      printf -- '- "service-account-key-file+=%s"\n' "$(irsa_public_key_path "${IRSA_KEY_IDS[$i]}")"
    done
  else
    # Each '-' value goes first, so the last one written is the first key file.
    for ((i = ${#IRSA_KEY_IDS[@]} - 1; i >= 0; i--)); do
      printf -- '- "service-account-key-file-=%s"\n' "$(irsa_public_key_path "${IRSA_KEY_IDS[$i]}")"
    done
    printf -- '- "service-account-signing-key-file=%s"\n' "$(irsa_signing_key_path)"
  fi
  printf -- '- "api-audiences+=%s"\n' "$IRSA_API_AUDIENCES"
}

# The key files irsa's drop-in $1 names, as the API server sees them.
k3s_named_key_paths() {
  [ -f "$1" ] || return 0
  sed -n 's/^- "service-account-\(signing-\)\{0,1\}key-file[-+]\{0,1\}=\(.*\)"$/\2/p' "$1"
}

k3s_ready() { [ "$(k3s kubectl get --raw /readyz 2>/dev/null)" = ok ]; }

k3s_restart_and_wait() {
  local output
  irsa_log "restarting k3s: systemctl restart $K3S_SERVICE"
  if ! output=$(systemctl restart "$K3S_SERVICE" 2>&1); then
    IRSA_PROBLEM="systemctl restart $K3S_SERVICE failed: $(printf '%s' "$output" | tail -n 3 | tr '\n' ' ')"
    return 1
  fi
  irsa_log "waiting for the API server: k3s kubectl get --raw /readyz (up to ${IRSA_READY_TIMEOUT}s)"
  if ! irsa_poll "$IRSA_READY_TIMEOUT" k3s_ready; then
    IRSA_PROBLEM="k3s's API server did not become ready within ${IRSA_READY_TIMEOUT}s after the restart (journalctl -u $K3S_SERVICE says why)"
    return 1
  fi
  irsa_log "k3s is ready"
}

# Put the previous drop-in back (or none), restart, then stop with a message saying so.
k3s_roll_back() { # $1 drop-in, $2 its previous copy, $3 rewritten?, $4 existed before?, $5 dir created?
  local why=$IRSA_PROBLEM what path kept_path
  local -a kept=()
  irsa_log "rolling back: $why"
  if [ "$3" = true ] && [ "$4" = true ]; then
    irsa_copy_file "$2" "$1"
    what="$1 holds the previous drop-in again (a copy stays at $2)"
  elif [ "$3" = true ]; then
    rm -f -- "$1"
    what="$1 was removed"
    if [ "$5" = true ] && rmdir -- "${1%/*}" 2>/dev/null; then what="$what, and so was ${1%/*}"; fi
  else
    what="$1 was not changed"
  fi
  while IFS= read -r kept_path; do
    kept+=("$(irsa_host_path "$kept_path")")
  done < <(k3s_named_key_paths "$1")
  for path in "${IRSA_CREATED_FILES[@]}"; do
    if ! irsa_contains "$path" "${kept[@]}"; then
      rm -f -- "$path"
      irsa_log "removed $path"
    fi
  done
  if k3s_restart_and_wait; then
    irsa_fail "$why. The change was rolled back: $what, new key files were removed, and k3s is ready with its previous configuration."
  fi
  irsa_fail "$why. The change was rolled back ($what), but k3s is still not ready: $IRSA_PROBLEM. Look with: journalctl -u $K3S_SERVICE"
}

# After a successful change: remove key files that only the previous drop-in named.
k3s_remove_stale_keys() { # $1 previous drop-in, $2 current drop-in
  local path
  local -a now
  mapfile -t now < <(k3s_named_key_paths "$2")
  while IFS= read -r path; do
    if ! irsa_contains "$path" "${now[@]}"; then irsa_remove_key_files "$path"; fi
  done < <(k3s_named_key_paths "$1")
}

# apply: irsa's issuer and key sign. accept: they are only accepted (a first
# phase when several servers must all accept before any signs).
k3s_change() { # $1: apply or accept
  local phase=$1 dir drop_in previous desired created=false existed=false wrote=false
  dir=$(irsa_host_path "$K3S_CONFIG_DIR")
  drop_in=$(irsa_host_path "$K3S_DROP_IN")
  previous=$drop_in.irsa-previous
  k3s_preflight
  k3s_refuse_our_issuer_elsewhere "$dir" "$drop_in"
  if [ "$phase" = accept ]; then irsa_note_signer; fi
  if [ ! -d "${drop_in%/*}" ]; then
    created=true
    mkdir -m 0755 -- "${drop_in%/*}"
    irsa_log "created ${drop_in%/*}"
  elif [ -f "$drop_in" ] && grep -qxF -- "$K3S_MARK_CREATED_DIR" "$drop_in"; then
    created=true
  fi
  if [ "$phase" = accept ]; then irsa_install_public_keys; else irsa_install_keys; fi
  irsa_temp_next_to "$drop_in"
  desired=$IRSA_TEMP
  k3s_drop_in_text "$created" "$phase" >"$desired"
  if [ -f "$drop_in" ] && cmp -s -- "$desired" "$drop_in"; then
    rm -f -- "$desired"
    irsa_log "$drop_in already carries these flags: not written"
  else
    if [ -f "$drop_in" ]; then
      existed=true
      irsa_copy_file "$drop_in" "$previous"
    fi
    chown 0:0 -- "$desired"
    chmod 0600 -- "$desired"
    mv -f -- "$desired" "$drop_in"
    wrote=true
    irsa_log "wrote $drop_in (kube-apiserver-arg+ entries; the file before: $([ "$existed" = true ] && echo "$previous" || echo none))"
  fi
  if [ "$wrote" = false ] && [ "$IRSA_KEYS_CHANGED" = false ]; then
    irsa_log "nothing changed on this host: no restart"
    k3s_check "$phase" || irsa_fail "$IRSA_PROBLEM"
  else
    k3s_restart_and_wait || k3s_roll_back "$drop_in" "$previous" "$wrote" "$existed" "$created"
    k3s_check "$phase" || k3s_roll_back "$drop_in" "$previous" "$wrote" "$existed" "$created"
    if [ "$existed" = true ]; then k3s_remove_stale_keys "$previous" "$drop_in"; fi
    if [ "$IRSA_RESTART_WORKLOADS" = true ] && [ "$phase" = apply ]; then irsa_restart_workloads; fi
  fi
  if [ "$phase" = accept ]; then
    irsa_log "done: kube-apiserver accepts tokens from $IRSA_ISSUER; its signer is unchanged"
  else
    irsa_log "done: kube-apiserver signs service-account tokens for $IRSA_ISSUER"
  fi
}

k3s_check() { # $1: the phase
  if [ "$1" = accept ]; then irsa_signer_check; else irsa_self_check; fi
}

irsa_apply() { k3s_change apply; }
irsa_accept() { k3s_change accept; }

irsa_revert() {
  local drop_in previous why created=false
  local -a ours=() in_key_dir=()
  drop_in=$(irsa_host_path "$K3S_DROP_IN")
  previous=$drop_in.irsa-previous
  mapfile -t in_key_dir < <(irsa_key_dir_files)
  if [ ! -f "$drop_in" ]; then
    irsa_log "$drop_in not found: no flags to revert"
    irsa_remove_key_files "${in_key_dir[@]}"
    rm -f -- "$previous"
    return 0
  fi
  k3s_preflight
  mapfile -t ours < <(k3s_named_key_paths "$drop_in")
  if grep -qxF -- "$K3S_MARK_CREATED_DIR" "$drop_in"; then created=true; fi
  irsa_copy_file "$drop_in" "$previous"
  rm -f -- "$drop_in"
  irsa_log "removed $drop_in (a copy stays at $previous until k3s is ready)"
  if ! k3s_restart_and_wait; then
    why=$IRSA_PROBLEM
    irsa_copy_file "$previous" "$drop_in"
    k3s_restart_and_wait || true
    irsa_fail "$why. The revert was rolled back: $drop_in is back and the key files stay; run it again (pulumi destroy) once k3s is healthy."
  fi
  if [ "$IRSA_RESTART_WORKLOADS" = true ]; then irsa_restart_workloads; fi
  irsa_remove_key_files "${ours[@]}" "${in_key_dir[@]}"
  rm -f -- "$previous"
  if [ "$created" = true ] && rmdir -- "${drop_in%/*}" 2>/dev/null; then irsa_log "removed ${drop_in%/*}"; fi
  irsa_log "done: kube-apiserver is configured as irsa found it"
}

irsa_main "$@" </dev/null
