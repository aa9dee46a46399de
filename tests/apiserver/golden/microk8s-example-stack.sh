#!/usr/bin/env bash
# irsa host script for MicroK8s: makes kube-apiserver sign service-account
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

MICROK8S_ARGS=/var/snap/microk8s/current/args/kube-apiserver
MICROK8S_SERVICE=microk8s.daemon-kubelite
MICROK8S_MARK_ADDED='# irsa:added (the next line; irsa revert removes it)'
MICROK8S_MARK_COMMENTED='# irsa:commented (the next line; irsa revert uncomments it)'

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

# --- microk8s: kubelite's args file, edited line by line (irsa/apiserver/microk8s.sh) ---
# kubelite skips empty lines and lines starting with '#', and splits the rest on
# spaces: a '#' after a flag would become an argument. So every marker is a line
# of its own, just above the one line it marks.

irsa_issue_token() { microk8s kubectl create token default -n default --audience "$1"; }
irsa_kubectl() { microk8s kubectl "$@"; }

microk8s_preflight() { # $1: the args file on this host
  [ -f "$1" ] || irsa_fail "MicroK8s not found: $1 is missing (install it: snap install microk8s --classic)"
  command -v microk8s >/dev/null || irsa_fail "MicroK8s not found: no microk8s command on PATH"
  command -v snap >/dev/null || irsa_fail "no snap command on PATH: cannot restart $MICROK8S_SERVICE"
  irsa_log "preflight: MicroK8s found ($1), running as root"
}

# The lines irsa adds, each under its marker, in one block before the existing
# issuer: the first issuer signs new tokens, the later ones are still accepted.
microk8s_added_lines() {
  local kid
  printf '%s\n%s\n' "$MICROK8S_MARK_ADDED" "--service-account-issuer=$IRSA_ISSUER"
  for kid in "${IRSA_KEY_IDS[@]}"; do
    printf '%s\n%s\n' "$MICROK8S_MARK_ADDED" "--service-account-key-file=$(irsa_public_key_path "$kid")"
  done
  printf '%s\n%s\n' "$MICROK8S_MARK_ADDED" "--service-account-signing-key-file=$(irsa_signing_key_path)"
  printf '%s\n%s\n' "$MICROK8S_MARK_ADDED" "--api-audiences=$IRSA_API_AUDIENCES"
}

# stdin → stdout: the file without anything irsa added or commented.
microk8s_strip_marked() {
  awk -v added="$MICROK8S_MARK_ADDED" -v commented="$MICROK8S_MARK_COMMENTED" '
    pending == "added" { pending = ""; next }
    pending == "commented" { pending = ""; sub(/^#/, ""); print; next }
    $0 == added { pending = "added"; next }
    $0 == commented { pending = "commented"; next }
    { print }'
}

# stdin (a file without irsa lines) → stdout: irsa's block added, and the flags
# that take one value only (signing key, audiences) commented where they stand.
microk8s_add_marked() {
  MICROK8S_BLOCK=$(microk8s_added_lines) awk -v commented="$MICROK8S_MARK_COMMENTED" -v quote="'" '
    function flag(line) {
      sub(/^[ \t]+/, "", line)
      if (line ~ /^#/) return ""
      gsub(/"/, "", line)
      gsub(quote, "", line)
      sub(/[= \t].*$/, "", line)
      return line
    }
    !inserted && flag($0) == "--service-account-issuer" { print ENVIRON["MICROK8S_BLOCK"]; inserted = 1 }
    flag($0) == "--service-account-signing-key-file" || flag($0) == "--api-audiences" {
      print commented
      print "#" $0
      next
    }
    { print }
    END { if (!inserted) print ENVIRON["MICROK8S_BLOCK"] }'
}

# Sets IRSA_TEMP to a temp file next to args file $2 holding filter $1's output
# for file $3 (default: $2), ending like $2 does.
microk8s_filtered_copy() {
  irsa_temp_next_to "$2"
  "$1" <"${3:-$2}" >"$IRSA_TEMP"
  irsa_match_final_newline "$2" "$IRSA_TEMP"
}

# The key files that irsa's lines in file $1 name, as the API server sees them.
microk8s_marked_key_paths() {
  awk -v added="$MICROK8S_MARK_ADDED" '
    pending { pending = 0; if (sub(/^--service-account-(signing-)?key-file=/, "")) print; next }
    $0 == added { pending = 1 }' "$1"
}

microk8s_restart_and_wait() {
  local output
  irsa_log "restarting the API server: snap restart $MICROK8S_SERVICE"
  if ! output=$(snap restart "$MICROK8S_SERVICE" 2>&1); then
    IRSA_PROBLEM="snap restart $MICROK8S_SERVICE failed: $(printf '%s' "$output" | tail -n 3 | tr '\n' ' ')"
    return 1
  fi
  irsa_log "waiting for MicroK8s: microk8s status --wait-ready --timeout $IRSA_READY_TIMEOUT"
  if ! microk8s status --wait-ready --timeout "$IRSA_READY_TIMEOUT" >/dev/null 2>&1; then
    IRSA_PROBLEM="MicroK8s did not become ready within ${IRSA_READY_TIMEOUT}s after the restart"
    return 1
  fi
  irsa_log "MicroK8s is ready"
}

# Put the previous file back and restart, then stop with a message saying so.
microk8s_roll_back() { # $1 args file, $2 its previous copy, $3 whether it was rewritten; IRSA_PROBLEM says why
  local why=$IRSA_PROBLEM what path kept_path
  local -a kept=()
  irsa_log "rolling back: $why"
  if [ "$3" = true ]; then
    irsa_copy_file "$2" "$1"
    what="$1 holds the previous file again (a copy stays at $2)"
  else
    what="$1 was not changed"
  fi
  while IFS= read -r kept_path; do
    kept+=("$(irsa_host_path "$kept_path")")
  done < <(microk8s_marked_key_paths "$1")
  for path in "${IRSA_CREATED_FILES[@]}"; do
    if ! irsa_contains "$path" "${kept[@]}"; then
      rm -f -- "$path"
      irsa_log "removed $path"
    fi
  done
  if microk8s_restart_and_wait; then
    irsa_fail "$why. The change was rolled back: $what, new key files were removed, and MicroK8s is ready with its previous configuration."
  fi
  irsa_fail "$why. The change was rolled back ($what), but MicroK8s is still not ready: $IRSA_PROBLEM. Look with: microk8s inspect"
}

# After a successful change: remove key files that only the previous file named.
microk8s_remove_stale_keys() { # $1 previous file, $2 current file
  local path
  local -a now
  mapfile -t now < <(microk8s_marked_key_paths "$2")
  while IFS= read -r path; do
    if ! irsa_contains "$path" "${now[@]}"; then irsa_remove_key_files "$path"; fi
  done < <(microk8s_marked_key_paths "$1")
}

irsa_apply() {
  local args previous clean desired wrote_args=false
  args=$(irsa_host_path "$MICROK8S_ARGS")
  previous=$args.irsa-previous
  microk8s_preflight "$args"
  irsa_install_keys
  microk8s_filtered_copy microk8s_strip_marked "$args"
  clean=$IRSA_TEMP
  microk8s_filtered_copy microk8s_add_marked "$args" "$clean"
  desired=$IRSA_TEMP
  if cmp -s -- "$desired" "$args"; then
    irsa_log "$args already carries these flags: not written"
  else
    if [ ! -e "$args.irsa-pristine" ]; then
      irsa_copy_file "$clean" "$args.irsa-pristine" "$args"
      irsa_log "kept the file as irsa found it: $args.irsa-pristine"
    fi
    irsa_copy_file "$args" "$previous"
    irsa_replace_file "$args" "$desired"
    wrote_args=true
    irsa_log "rewrote $args (the file before: $previous)"
  fi
  if [ "$wrote_args" = false ] && [ "$IRSA_KEYS_CHANGED" = false ]; then
    irsa_log "nothing changed on this host: no restart"
    irsa_self_check || irsa_fail "$IRSA_PROBLEM"
  else
    microk8s_restart_and_wait || microk8s_roll_back "$args" "$previous" "$wrote_args"
    irsa_self_check || microk8s_roll_back "$args" "$previous" "$wrote_args"
    if [ "$wrote_args" = true ]; then microk8s_remove_stale_keys "$previous" "$args"; fi
    if [ "$IRSA_RESTART_WORKLOADS" = true ]; then irsa_restart_workloads; fi
  fi
  irsa_log "done: kube-apiserver signs service-account tokens for $IRSA_ISSUER"
}

irsa_revert() {
  local args previous clean why
  local -a ours=() in_key_dir=()
  args=$(irsa_host_path "$MICROK8S_ARGS")
  previous=$args.irsa-previous
  mapfile -t in_key_dir < <(irsa_key_dir_files)
  if [ ! -f "$args" ]; then
    irsa_log "$args not found (MicroK8s removed?): no flags to revert"
    irsa_remove_key_files "${in_key_dir[@]}"
    return 0
  fi
  microk8s_preflight "$args"
  mapfile -t ours < <(microk8s_marked_key_paths "$args")
  microk8s_filtered_copy microk8s_strip_marked "$args"
  clean=$IRSA_TEMP
  if cmp -s -- "$clean" "$args"; then
    irsa_log "$args carries no irsa lines: not written"
  else
    irsa_copy_file "$args" "$previous"
    irsa_replace_file "$args" "$clean"
    irsa_log "removed irsa's lines from $args (the file before: $previous)"
    if ! microk8s_restart_and_wait; then
      why=$IRSA_PROBLEM
      irsa_copy_file "$previous" "$args"
      microk8s_restart_and_wait || true
      irsa_fail "$why. The revert was rolled back: $args holds irsa's flags again and the key files stay; run it again (pulumi destroy) once MicroK8s is healthy."
    fi
    if [ "$IRSA_RESTART_WORKLOADS" = true ]; then irsa_restart_workloads; fi
  fi
  irsa_remove_key_files "${ours[@]}" "${in_key_dir[@]}"
  microk8s_forget_backups "$args"
  irsa_log "done: kube-apiserver is configured as irsa found it"
}

# After a revert: the backups are no longer needed if the file is as irsa found it.
microk8s_forget_backups() { # $1 args file
  if [ -e "$1.irsa-pristine" ] && ! cmp -s -- "$1.irsa-pristine" "$1"; then
    irsa_log "kept $1.irsa-pristine: $1 differs from the file irsa first found (edited since?)"
    return 0
  fi
  if [ -e "$1.irsa-pristine" ] || [ -e "$1.irsa-previous" ]; then
    rm -f -- "$1.irsa-pristine" "$1.irsa-previous"
    irsa_log "removed the backups $1.irsa-pristine and $1.irsa-previous"
  fi
}

irsa_main "$@" </dev/null
