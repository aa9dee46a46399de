#!/usr/bin/env bash
# irsa host script for k3s: makes kube-apiserver sign service-account
# tokens for an external OIDC issuer (IAM Roles for Service Accounts).
# Rendered by irsa (irsa/apiserver) from the Pulumi stack; do not edit.
# Runs as root with the script on stdin: bash -s -- MODE, one of
# accept | sign | retire | apply | unsign | revert (irsa/apiserver/common.py)
set -euo pipefail

# --- inputs ---
IRSA_ISSUER=https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main
IRSA_AUDIENCE=sts.amazonaws.com
IRSA_API_AUDIENCES=https://kubernetes.default.svc
IRSA_KEY_DIR=/opt/k8s
IRSA_READY_TIMEOUT=300
IRSA_LOCK_TIMEOUT=720
IRSA_RESTART_WORKLOADS=false
IRSA_NODE=node
IRSA_OWNER_STACK=irsa
IRSA_TAKE_OVER=false
IRSA_KEY_IDS=(<key id>)
IRSA_PREVIOUS_ISSUERS=()
IRSA_RETIRE_FROM=0
IRSA_PUBLIC_KEYS=(
  '<public key PEM>
'
)
IRSA_SIGNING_KEY='<signing private key PEM>
'

IRSA_DIST_PREFIX=K3S_
K3S_CONFIG_DIR=/etc/rancher/k3s
K3S_DROP_IN=/etc/rancher/k3s/config.yaml.d/99-irsa.yaml
K3S_SERVICE=k3s
K3S_BACKUP_DIR=/var/lib/irsa/k3s
K3S_MARK_CREATED_DIR='# irsa created config.yaml.d: irsa revert removes it when it is empty.'
K3S_MARK_HOST_ISSUER='# k3s'"'"'s own issuer (irsa'"'"'s self-check after unsign): '

# --- shared by every distribution (irsa/apiserver/common.sh) ---
# The modes (accept, sign, retire, apply, unsign, revert) and what each wants
# the API server to accept and sign with are decided here, the same for every
# distribution; irsa/apiserver/common.py's docstring describes the interface.
# A distribution section defines the hooks listed there (irsa_dist_*,
# irsa_issue_token, irsa_kubectl).

# Tests point this at a fake host; on a real host every path is used as it is.
IRSA_HOST_ROOT=${IRSA_HOST_ROOT:-/}
IRSA_STATE_DIR=/var/lib/irsa
IRSA_TEMP_FILES=()
IRSA_CREATED_FILES=()
IRSA_KEYS_CHANGED=false
IRSA_PROBLEM=""

irsa_log() { printf 'irsa: %s\n' "$*"; }
irsa_fail() {
  printf 'irsa: error on %s: %s\n' "$IRSA_NODE" "$*" >&2
  exit 1
}

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
irsa_private_key_path() { printf '%s/irsa-sa-%s.key' "$IRSA_KEY_DIR" "$1"; }
irsa_signing_key_path() { irsa_private_key_path "${IRSA_KEY_IDS[0]}"; }

irsa_is_our_key_file() {
  case ${1##*/} in irsa-sa-*.pub | irsa-sa-*.key) return 0 ;; *) return 1 ;; esac
}

# The key id in one of our key file names.
irsa_kid_of_path() {
  local name=${1##*/}
  name=${name#irsa-sa-}
  printf '%s' "${name%.*}"
}

irsa_report_file() { # $1 host path, $2 what it is
  if [ "$IRSA_WROTE" = true ]; then
    IRSA_KEYS_CHANGED=true
    irsa_log "wrote $1 ($2)"
  else
    irsa_log "$1 unchanged ($2)"
  fi
}

# Write this run's keys that IRSA_WANT_* names. Keys go through the printf
# builtin and a pipe: never onto a command line. A key of an earlier run that
# is still wanted must already be on the host.
irsa_install_keys() {
  local dir path i kid
  dir=$(irsa_host_path "$IRSA_KEY_DIR")
  if [ ! -d "$dir" ]; then
    mkdir -p -m 0755 -- "$dir"
    irsa_log "created $dir"
  fi
  if [ "$IRSA_WANT_SIGN_KID" = "${IRSA_KEY_IDS[0]}" ]; then
    path=$(irsa_host_path "$(irsa_signing_key_path)")
    irsa_install_file "$path" 0600 < <(printf '%s' "$IRSA_SIGNING_KEY")
    irsa_report_file "$path" "signing key, 0600"
  elif [ -n "$IRSA_WANT_SIGN_KID" ] && [ ! -f "$dir/irsa-sa-$IRSA_WANT_SIGN_KID.key" ]; then
    irsa_fail "the key this node signs with, $(irsa_private_key_path "$IRSA_WANT_SIGN_KID"), is missing"
  fi
  for kid in "${IRSA_WANT_KIDS[@]}"; do
    path=$(irsa_host_path "$(irsa_public_key_path "$kid")")
    for i in "${!IRSA_KEY_IDS[@]}"; do
      if [ "${IRSA_KEY_IDS[$i]}" = "$kid" ]; then
        irsa_install_file "$path" 0644 < <(printf '%s' "${IRSA_PUBLIC_KEYS[$i]}")
        irsa_report_file "$path" "verification key, 0644"
        continue 2
      fi
    done
    [ -f "$path" ] || irsa_fail "the verification key $(irsa_public_key_path "$kid") of an earlier run is missing"
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

# Print the arguments in order, each once.
irsa_unique() {
  local item
  local -a seen=()
  for item in "$@"; do
    [ -n "$item" ] || continue
    irsa_contains "$item" "${seen[@]}" && continue
    seen+=("$item")
    printf '%s\n' "$item"
  done
}

# --- the modes: what this node should accept and sign with ------------------
# Reads what irsa's lines say now (set by irsa_dist_current):
#   IRSA_CUR_SIGN_ISSUER, IRSA_CUR_SIGN_KID  irsa's signer ("" = the host's own)
#   IRSA_CUR_ISSUERS, IRSA_CUR_KIDS          every issuer and key irsa's lines accept
# and sets what the file should say:
#   IRSA_WANT_SIGN_ISSUER, IRSA_WANT_SIGN_KID, IRSA_WANT_ISSUERS, IRSA_WANT_KIDS,
#   IRSA_WANT_AUDIENCES ("" = leave the host's own audiences).
# accept, sign and unsign only ever add to what is accepted; only retire, apply
# and revert take something away. So a rollout of several nodes (every accept,
# then every sign, then every retire) never has a node sign with something
# another node does not accept.
irsa_plan() { # $1 mode
  local -a issuers kids
  case $1 in
    accept)
      IRSA_WANT_SIGN_ISSUER=$IRSA_CUR_SIGN_ISSUER
      IRSA_WANT_SIGN_KID=$IRSA_CUR_SIGN_KID
      mapfile -t issuers < <(irsa_unique "$IRSA_CUR_SIGN_ISSUER" "${IRSA_CUR_ISSUERS[@]}" "$IRSA_ISSUER" "${IRSA_PREVIOUS_ISSUERS[@]}")
      mapfile -t kids < <(irsa_unique "${IRSA_CUR_KIDS[@]}" "${IRSA_KEY_IDS[@]}")
      ;;
    sign)
      IRSA_WANT_SIGN_ISSUER=$IRSA_ISSUER
      IRSA_WANT_SIGN_KID=${IRSA_KEY_IDS[0]}
      mapfile -t issuers < <(irsa_unique "$IRSA_ISSUER" "${IRSA_CUR_ISSUERS[@]}" "${IRSA_PREVIOUS_ISSUERS[@]}")
      mapfile -t kids < <(irsa_unique "${IRSA_KEY_IDS[@]}" "${IRSA_CUR_KIDS[@]}")
      ;;
    retire)
      if [ "$IRSA_CUR_SIGN_ISSUER" != "$IRSA_ISSUER" ] || [ "$IRSA_CUR_SIGN_KID" != "${IRSA_KEY_IDS[0]}" ]; then
        irsa_fail "retire: this node does not sign with $IRSA_ISSUER and key ${IRSA_KEY_IDS[0]} yet (sign must succeed on every node first)"
      fi
      IRSA_WANT_SIGN_ISSUER=$IRSA_ISSUER
      IRSA_WANT_SIGN_KID=${IRSA_KEY_IDS[0]}
      if irsa_retire_held; then
        # Tokens signed under what stopped signing may still be valid: keep all.
        mapfile -t issuers < <(irsa_unique "$IRSA_ISSUER" "${IRSA_CUR_ISSUERS[@]}" "${IRSA_PREVIOUS_ISSUERS[@]}")
        mapfile -t kids < <(irsa_unique "${IRSA_KEY_IDS[@]}" "${IRSA_CUR_KIDS[@]}")
      else
        # A move between issuer hosts keeps the previous issuers accepted.
        mapfile -t issuers < <(irsa_unique "$IRSA_ISSUER" "${IRSA_PREVIOUS_ISSUERS[@]}")
        kids=("${IRSA_KEY_IDS[@]}")
      fi
      ;;
    apply)
      IRSA_WANT_SIGN_ISSUER=$IRSA_ISSUER
      IRSA_WANT_SIGN_KID=${IRSA_KEY_IDS[0]}
      # A move between issuer hosts keeps the previous issuers accepted.
      mapfile -t issuers < <(irsa_unique "$IRSA_ISSUER" "${IRSA_PREVIOUS_ISSUERS[@]}")
      kids=("${IRSA_KEY_IDS[@]}")
      ;;
    unsign)
      IRSA_WANT_SIGN_ISSUER=""
      IRSA_WANT_SIGN_KID=""
      mapfile -t issuers < <(irsa_unique "$IRSA_CUR_SIGN_ISSUER" "${IRSA_CUR_ISSUERS[@]}")
      kids=("${IRSA_CUR_KIDS[@]}")
      ;;
    *) irsa_fail "irsa_plan: unknown mode $1" ;;
  esac
  IRSA_WANT_ISSUERS=("${issuers[@]}")
  IRSA_WANT_KIDS=("${kids[@]}")
  IRSA_WANT_AUDIENCES=""
  if [ -n "$IRSA_WANT_SIGN_ISSUER" ]; then IRSA_WANT_AUDIENCES=$IRSA_API_AUDIENCES; fi
}

# --- when the signer changed, and what a retire may drop -----------------------
# $IRSA_STATE_DIR/signer records irsa's signer on this node, since when, and the
# signer before it. Tokens signed under the one before stay valid for their
# lifetime, so a retire drops nothing before IRSA_RETIRE_FROM (an epoch second
# the program sets from this record and irsa:retireAfterSeconds; 0: any time).

irsa_now() { date +%s; }

# Whether retire must keep what stopped signing (the host's clock must agree too).
irsa_retire_held() { [ "${IRSA_RETIRE_FROM:-0}" -gt "$(irsa_now)" ]; }

irsa_signer_field() { # $1 field: its value in the signer record, or ""
  local file
  file=$(irsa_state_path signer)
  [ -f "$file" ] || return 0
  sed -n "s/^$1=//p" "$file" | head -n 1
}

# After a change that made this node sign with something new: record it.
irsa_record_signer() {
  if [ -z "$IRSA_WANT_SIGN_ISSUER" ] ||
    { [ "$IRSA_CUR_SIGN_ISSUER" = "$IRSA_WANT_SIGN_ISSUER" ] && [ "$IRSA_CUR_SIGN_KID" = "$IRSA_WANT_SIGN_KID" ]; }; then
    return 0
  fi
  irsa_ensure_state_dir
  irsa_install_file "$(irsa_state_path signer)" 0600 < <(printf 'issuer=%s\nkid=%s\nsince=%s\nbefore_issuer=%s\nbefore_kid=%s\n' \
    "$IRSA_WANT_SIGN_ISSUER" "$IRSA_WANT_SIGN_KID" "$(irsa_now)" "$IRSA_CUR_SIGN_ISSUER" "$IRSA_CUR_SIGN_KID")
}

irsa_join() { local IFS=,; printf '%s' "${*:--}"; }

# One line the program reads from every run's output (irsa/apiserver/rollout.py):
# the signer record, and the issuers and keys this node accepts beyond this
# config (what a retire drops once IRSA_RETIRE_FROM has passed).
irsa_report_state() {
  local item
  local -a held_issuers=() held_kids=()
  for item in "${IRSA_WANT_ISSUERS[@]}"; do
    irsa_contains "$item" "$IRSA_ISSUER" "${IRSA_PREVIOUS_ISSUERS[@]}" || held_issuers+=("$item")
  done
  for item in "${IRSA_WANT_KIDS[@]}"; do
    irsa_contains "$item" "${IRSA_KEY_IDS[@]}" || held_kids+=("$item")
  done
  printf 'irsa: rollout-state since=%s issuer=%s signer=%s before=%s held-issuers=%s held-keys=%s\n' \
    "$(irsa_signer_field since)" "$(irsa_signer_field issuer)" "$(irsa_signer_field kid)" "$(irsa_signer_field before_kid)" \
    "$(irsa_join "${held_issuers[@]}")" "$(irsa_join "${held_kids[@]}")"
  if irsa_retire_held && [ "$IRSA_MODE" = retire ]; then
    irsa_log "retire: keeps accepting what stopped signing until $(date -u -d "@$IRSA_RETIRE_FROM" +%Y-%m-%dT%H:%M:%SZ) (irsa:retireAfterSeconds)"
  fi
}

# --- who configured this host ------------------------------------------------
# $IRSA_STATE_DIR/owner names the stack and node whose irsa configured this
# host. Another stack is refused unless IRSA_TAKE_OVER; within one stack a node
# entry that is no longer the owner (a renamed host) reverts nothing.

irsa_state_path() { irsa_host_path "$IRSA_STATE_DIR/$1"; }

irsa_owner_field() { # $1 field (stack|node): its value in the owner file, or ""
  local file
  file=$(irsa_state_path owner)
  [ -f "$file" ] || return 0
  sed -n "s/^$1=//p" "$file" | head -n 1
}

irsa_ensure_state_dir() {
  local dir
  dir=$(irsa_host_path "$IRSA_STATE_DIR")
  mkdir -p -m 0700 -- "$dir"
  chmod 0700 -- "$dir"
}

# Before a change: refuse another stack's host, unless told to take it over.
irsa_claim_host() {
  local stack node
  stack=$(irsa_owner_field stack)
  node=$(irsa_owner_field node)
  if [ -n "$stack" ] && [ "$stack" != "$IRSA_OWNER_STACK" ]; then
    if [ "$IRSA_TAKE_OVER" != true ]; then
      irsa_fail "this host's kube-apiserver is configured by another irsa stack ($stack, node $node); two stacks would flip its issuer back and forth. Destroy that stack first, or set irsa:takeOverHost to true to take the host over"
    fi
    irsa_log "taking the host over from stack $stack (irsa:takeOverHost is true)"
  elif [ -n "$node" ] && [ "$node" != "$IRSA_NODE" ]; then
    irsa_log "this host was configured as node $node of this stack; it is node $IRSA_NODE now"
  fi
  irsa_ensure_state_dir
  irsa_install_file "$(irsa_state_path owner)" 0600 < <(printf 'stack=%s\nnode=%s\n' "$IRSA_OWNER_STACK" "$IRSA_NODE")
}

# Before unsign or revert: whether this run may undo the host's configuration.
irsa_is_owner() {
  local stack node
  stack=$(irsa_owner_field stack)
  node=$(irsa_owner_field node)
  if [ -n "$stack" ] && [ "$stack" != "$IRSA_OWNER_STACK" ]; then
    irsa_log "this host is configured by another irsa stack ($stack, node $node): left as it is"
    return 1
  fi
  if [ -n "$node" ] && [ "$node" != "$IRSA_NODE" ]; then
    irsa_log "this host is configured as node $node of this stack now: left as it is"
    return 1
  fi
  return 0
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

# Ask the API server for a token and check who signed it: issuer $1 and, when
# given, key id $2. The token itself is never printed and never passed to
# another program's command line.
irsa_self_check() { # $1 expected iss, $2 expected kid or ""
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
  if [ "$iss" != "$1" ]; then
    IRSA_PROBLEM="self-check failed: new tokens carry iss '$iss', expected '$1'"
    return 1
  fi
  if [ -n "$2" ] && [ "$kid" != "$2" ]; then
    IRSA_PROBLEM="self-check failed: new tokens carry kid '$kid', expected the signing key's id '$2'"
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

# --- the flow every distribution shares ---------------------------------------

# Sets IRSA_TEMP to a temp file next to config file $2 holding filter $1's
# output for file $3 (default: $2), ending like $2 does.
irsa_filtered_copy() {
  local input=${3:-$2}
  [ -e "$input" ] || input=/dev/null
  irsa_temp_next_to "$2"
  "$1" <"$input" >"$IRSA_TEMP"
  irsa_match_final_newline "$2" "$IRSA_TEMP"
}

# --- where the backups live, and a config file that is irsa's own -------------
# Backups sit next to the config file unless the distribution names a folder
# (irsa_dist_backup_dir: kubeadm's kubelet would run a copy left in its folder).
irsa_backup_path() { # $1 config file, $2 pristine|previous
  if declare -F irsa_dist_backup_dir >/dev/null; then
    printf '%s/%s.irsa-%s' "$(irsa_dist_backup_dir)" "${1##*/}" "$2"
  else
    printf '%s.irsa-%s' "$1" "$2"
  fi
}

# A distribution whose config file is irsa's own (IRSA_DIST_OWNS_FILE=true: k3s's
# drop-in) has no file where another has a file without irsa's lines: an empty
# result removes the file (irsa_dist_remove), a missing file reads as empty.
irsa_owns_file() { [ "${IRSA_DIST_OWNS_FILE:-false}" = true ]; }

irsa_same_content() { # $1 $2: equal bytes, a missing file being empty
  if [ -e "$1" ] && [ -e "$2" ]; then cmp -s -- "$1" "$2"; return; fi
  [ ! -s "$1" ] && [ ! -s "$2" ]
}

# Move temp file $2 into place as config file $1 (an empty one of irsa's own: remove $1).
irsa_put_config() {
  if irsa_owns_file && [ ! -s "$2" ]; then
    rm -f -- "$2"
    [ ! -e "$1" ] || irsa_dist_remove "$1"
  elif [ -e "$1" ]; then
    irsa_replace_file "$1" "$2"
  else
    chown 0:0 -- "$2"
    chmod 0600 -- "$2"
    mv -f -- "$2" "$1"
  fi
}

# Keep a copy of config file $1 in $2; a missing file of irsa's own leaves no copy.
irsa_keep_copy() {
  if [ -e "$1" ]; then
    mkdir -p -m 0700 -- "$(dirname -- "$2")"
    irsa_copy_file "$1" "$2"
  else
    rm -f -- "$2"
  fi
}

# Put copy $2 back as config file $1 (no copy: irsa's own file had not been there).
irsa_restore_copy() {
  if [ -e "$2" ]; then
    irsa_copy_file "$2" "$1"
  elif irsa_owns_file && [ -e "$1" ]; then
    irsa_dist_remove "$1"
  fi
}

# Render the file this mode wants from the stripped copy $1 (IRSA_TEMP: the result).
irsa_rendered_copy() { # $1 stripped copy, $2 config file
  irsa_temp_next_to "$2"
  irsa_dist_render "$1" >"$IRSA_TEMP"
  irsa_match_final_newline "$2" "$IRSA_TEMP"
}

# Put the previous file back and restart, then stop with a message saying so.
irsa_roll_back() { # $1 config file, $2 its previous copy, $3 whether it was rewritten; IRSA_PROBLEM says why
  local why=$IRSA_PROBLEM what path kept_path
  local -a kept=()
  irsa_log "rolling back: $why"
  if [ "$3" = true ]; then
    irsa_restore_copy "$1" "$2"
    if [ -e "$2" ]; then what="$1 holds the previous file again (a copy stays at $2)"; else what="$1 was removed"; fi
  else
    what="$1 was not changed"
  fi
  while IFS= read -r kept_path; do
    kept+=("$(irsa_host_path "$kept_path")")
  done < <(irsa_dist_marked_key_paths "$1")
  for path in "${IRSA_CREATED_FILES[@]}"; do
    if ! irsa_contains "$path" "${kept[@]}"; then
      rm -f -- "$path"
      irsa_log "removed $path"
    fi
  done
  if irsa_dist_restart_and_wait; then
    irsa_fail "$why. The change was rolled back: $what, new key files were removed, and the API server is ready with its previous configuration."
  fi
  irsa_fail "$why. The change was rolled back ($what), but the API server is still not ready: $IRSA_PROBLEM"
}

# After a successful change: remove key files that only the previous file named.
irsa_remove_stale_keys() { # $1 previous file, $2 current file
  local path
  local -a now
  mapfile -t now < <(irsa_dist_marked_key_paths "$2")
  while IFS= read -r path; do
    if ! irsa_contains "$path" "${now[@]}"; then irsa_remove_key_files "$path"; fi
  done < <(irsa_dist_marked_key_paths "$1")
}

# accept, sign, retire, apply and unsign: make the file say what irsa_plan
# wants, restart only if something changed, check, roll back on failure.
irsa_change() { # $1 mode
  local mode=$1 config previous pristine clean desired expected_iss wrote=false
  if [ "$mode" = unsign ] && [ ! -f "$(irsa_dist_config_path)" ]; then
    irsa_log "$(irsa_dist_config_path) not found (the distribution removed?): nothing to unsign"
    return 0
  fi
  irsa_dist_preflight
  config=$IRSA_CONFIG_FILE
  previous=$(irsa_backup_path "$config" previous)
  pristine=$(irsa_backup_path "$config" pristine)
  if [ "$mode" = unsign ]; then
    irsa_is_owner || return 0
  else
    irsa_claim_host
  fi
  irsa_dist_current "$config"
  irsa_plan "$mode"
  local signer="the host's own issuer and key"
  [ -z "$IRSA_WANT_SIGN_ISSUER" ] || signer="$IRSA_WANT_SIGN_ISSUER (key $IRSA_WANT_SIGN_KID)"
  irsa_log "$mode: this node signs with $signer; irsa's accepted issuers: ${IRSA_WANT_ISSUERS[*]}"
  irsa_install_keys
  irsa_filtered_copy irsa_dist_strip "$config"
  clean=$IRSA_TEMP
  irsa_rendered_copy "$clean" "$config"
  desired=$IRSA_TEMP
  expected_iss=$(irsa_dist_signing_issuer "$desired")
  if irsa_same_content "$desired" "$config"; then
    irsa_log "$config already carries these flags: not written"
  else
    if [ ! -e "$pristine" ] && ! irsa_owns_file; then
      mkdir -p -m 0700 -- "$(dirname -- "$pristine")"
      irsa_copy_file "$clean" "$pristine" "$config"
      irsa_log "kept the file as irsa found it: $pristine"
    fi
    irsa_keep_copy "$config" "$previous"
    irsa_put_config "$config" "$desired"
    wrote=true
    if [ -e "$previous" ]; then
      irsa_log "rewrote $config (the file before: $previous)"
    else
      irsa_log "wrote $config (irsa's own file; there was none before)"
    fi
  fi
  if [ "$wrote" = false ] && [ "$IRSA_KEYS_CHANGED" = false ]; then
    irsa_log "nothing changed on this host: no restart"
    irsa_self_check "$expected_iss" "$IRSA_WANT_SIGN_KID" || irsa_fail "$IRSA_PROBLEM"
  else
    irsa_dist_restart_and_wait || irsa_roll_back "$config" "$previous" "$wrote"
    irsa_self_check "$expected_iss" "$IRSA_WANT_SIGN_KID" || irsa_roll_back "$config" "$previous" "$wrote"
    if [ "$wrote" = true ]; then irsa_remove_stale_keys "$previous" "$config"; fi
    if [ "$mode" != unsign ]; then irsa_record_signer; fi
    if [ "$IRSA_RESTART_WORKLOADS" = true ] && [ -n "$IRSA_WANT_SIGN_ISSUER" ]; then irsa_restart_workloads; fi
  fi
  if [ "$mode" != unsign ]; then irsa_report_state; fi
  irsa_log "done ($mode): kube-apiserver signs service-account tokens for $expected_iss"
}

irsa_unsign() { irsa_change unsign; }

irsa_revert() {
  local config previous clean why
  local -a ours=() in_key_dir=()
  mapfile -t in_key_dir < <(irsa_key_dir_files)
  config=$(irsa_dist_config_path)
  irsa_is_owner || return 0
  if [ ! -f "$config" ]; then
    irsa_log "$config not found (the distribution removed?): no flags to revert"
    irsa_remove_key_files "${in_key_dir[@]}"
    rm -f -- "$(irsa_state_path owner)" "$(irsa_state_path signer)"
    return 0
  fi
  irsa_dist_preflight
  previous=$(irsa_backup_path "$config" previous)
  mapfile -t ours < <(irsa_dist_marked_key_paths "$config")
  irsa_filtered_copy irsa_dist_strip "$config"
  clean=$IRSA_TEMP
  if irsa_same_content "$clean" "$config"; then
    irsa_log "$config carries no irsa lines: not written"
  else
    irsa_keep_copy "$config" "$previous"
    irsa_put_config "$config" "$clean"
    if irsa_owns_file; then
      irsa_log "removed irsa's file $config (a copy stays at $previous until the API server is ready)"
    else
      irsa_log "removed irsa's lines from $config (the file before: $previous)"
    fi
    if ! irsa_dist_restart_and_wait; then
      why=$IRSA_PROBLEM
      irsa_restore_copy "$config" "$previous"
      irsa_dist_restart_and_wait || true
      irsa_fail "$why. The revert was rolled back: $config holds irsa's flags again and the key files stay; run it again (pulumi destroy) once the API server is healthy."
    fi
    if [ "$IRSA_RESTART_WORKLOADS" = true ]; then irsa_restart_workloads; fi
  fi
  irsa_remove_key_files "${ours[@]}" "${in_key_dir[@]}"
  irsa_forget_backups "$config"
  rm -f -- "$(irsa_state_path owner)" "$(irsa_state_path signer)"
  irsa_log "done: kube-apiserver is configured as irsa found it"
}

# After a revert: the backups are no longer needed if the file is as irsa found it.
irsa_forget_backups() { # $1 config file
  local pristine previous
  pristine=$(irsa_backup_path "$1" pristine)
  previous=$(irsa_backup_path "$1" previous)
  if [ -e "$pristine" ] && ! cmp -s -- "$pristine" "$1"; then
    irsa_log "kept $pristine: $1 differs from the file irsa first found (edited since?)"
    return 0
  fi
  if [ -e "$pristine" ] || [ -e "$previous" ]; then
    rm -f -- "$pristine" "$previous"
    irsa_log "removed the backups $pristine and $previous"
  fi
  if declare -F irsa_dist_backup_dir >/dev/null; then
    rmdir -- "$(irsa_dist_backup_dir)" 2>/dev/null || true
  fi
}

# --- a run that survives the SSH session ---------------------------------------
# The SSH session only starts the run and follows its log: the run itself is
# detached (systemd-run, or setsid), so a dropped connection cannot stop it
# between a restart and its rollback. It holds a host-side lock, keeps its log
# under $IRSA_STATE_DIR/runs (root only) and records its exit status there.

irsa_runs_dir() { irsa_state_path runs; }

# Write the detached copy of this script: every IRSA_* and distribution
# variable (keys included: the file is 0600 in a 0700 directory, and the run
# deletes it as it starts), every function, and the call.
irsa_write_run_file() { # $1 file, $2 mode, $3 run id path
  local -a names
  mapfile -t names < <(compgen -v | grep -E "^(IRSA_|${IRSA_DIST_PREFIX:-IRSA_})")
  (
    umask 077
    {
      printf '#!/usr/bin/env bash\nset -euo pipefail\nrm -f -- "$0"\n'
      declare -p "${names[@]}"
      declare -f
      printf 'IRSA_DETACHED=true\nIRSA_RUN=%q\nirsa_main %q </dev/null\n' "$3" "$2"
    } >"$1"
  )
}

# Print the new complete lines of log $1 from byte $IRSA_FOLLOWED on; errors go to stderr.
irsa_print_new_lines() { # $1 log, $2 "all": also a last line without a newline
  local size chunk line
  [ -f "$1" ] || return 0
  size=$(stat -c %s -- "$1")
  [ "$size" -gt "$IRSA_FOLLOWED" ] || return 0
  chunk=$(tail -c +"$((IRSA_FOLLOWED + 1))" -- "$1" | head -c "$((size - IRSA_FOLLOWED))"; printf x)
  chunk=${chunk%x}
  if [ "$2" != all ] && [[ $chunk != *$'\n'* ]]; then return 0; fi
  if [ "$2" != all ]; then chunk=${chunk%$'\n'*}$'\n'; fi
  IRSA_FOLLOWED=$((IRSA_FOLLOWED + ${#chunk}))
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in "irsa: error"*) printf '%s\n' "$line" >&2 ;; *) printf '%s\n' "$line" ;; esac
  done <<<"${chunk%$'\n'}"
}

irsa_detach() { # $1 mode
  local runs id file log code
  irsa_ensure_state_dir
  runs=$(irsa_runs_dir)
  mkdir -p -m 0700 -- "$runs"
  id="$(date +%Y%m%dT%H%M%S)-$$-$1"
  file=$runs/$id.sh
  log=$runs/$id.log
  irsa_write_run_file "$file" "$1" "$runs/$id"
  (umask 077 && : >"$log")
  if [ "$IRSA_HOST_ROOT" = / ] && [ -d /run/systemd/system ] && command -v systemd-run >/dev/null; then
    # Outside the SSH login's session scope: logind's KillUserProcesses cannot end it.
    systemd-run --quiet --collect --unit "irsa-$id" --setenv=PATH="$PATH" \
      -p StandardInput=null -p StandardOutput="append:$log" -p StandardError="append:$log" \
      bash "$file" >/dev/null
  else
    setsid bash "$file" >>"$log" 2>&1 </dev/null &
  fi
  IRSA_FOLLOWED=0
  until [ -f "$runs/$id.exit" ]; do
    irsa_print_new_lines "$log" complete
    sleep 0.5
  done
  irsa_print_new_lines "$log" all
  code=$(cat -- "$runs/$id.exit")
  : >"$runs/$id.collected"
  exit "$code"
}

# In the detached run: record the exit status for the follower (atomically).
irsa_finish() {
  local code=$? temp
  irsa_cleanup
  if [ -n "${IRSA_RUN:-}" ]; then
    temp=$(mktemp "$IRSA_RUN.exit.XXXXXX")
    printf '%s\n' "$code" >"$temp"
    mv -f -- "$temp" "$IRSA_RUN.exit"
  fi
}

# Earlier runs whose end nobody saw (the connection was lost): say how they
# ended, then keep only the last 20 runs' files.
irsa_report_unfollowed() {
  local runs exit_file id last
  runs=$(irsa_runs_dir)
  for exit_file in "$runs"/*.exit; do
    [ -f "$exit_file" ] || continue
    id=${exit_file%.exit}
    [ "$id" != "$IRSA_RUN" ] && [ ! -e "$id.collected" ] || continue
    last=$(grep -E '^irsa: (error|done)' -- "$id.log" 2>/dev/null | tail -n 1 || true)
    irsa_log "an earlier run lost its connection before it ended: ${id##*/} ended with exit $(cat -- "$exit_file"): ${last:-no result line}"
    : >"$id.collected"
  done
  ls -1t -- "$runs"/*.log 2>/dev/null | tail -n +21 | while IFS= read -r last; do
    rm -f -- "$last" "${last%.log}.exit" "${last%.log}.collected"
  done
}

irsa_lock() {
  local lock
  lock=$(irsa_state_path lock)
  exec 9>>"$lock"
  if ! flock -n 9; then
    irsa_log "another irsa run holds $lock: waiting up to ${IRSA_LOCK_TIMEOUT}s"
    flock -w "$IRSA_LOCK_TIMEOUT" 9 || irsa_fail "another irsa run still holds $lock after ${IRSA_LOCK_TIMEOUT}s; its log is under $(irsa_runs_dir). Run pulumi up again when it has finished"
  fi
}

irsa_main() {
  case ${1:-} in
    accept | sign | retire | apply | unsign | revert) ;;
    *) irsa_fail "usage: bash -s -- accept|sign|retire|apply|unsign|revert, with this script on stdin" ;;
  esac
  if [ "${IRSA_DETACHED:-false}" != true ]; then
    trap irsa_cleanup EXIT
    irsa_require_root
    irsa_detach "$1"
  fi
  trap irsa_finish EXIT
  IRSA_MODE=$1
  irsa_lock
  irsa_report_unfollowed
  case $1 in
    accept | sign | retire | apply) irsa_change "$1" ;;
    unsign) irsa_unsign ;;
    revert) irsa_revert ;;
  esac
}

# --- k3s: one drop-in file of irsa's own in config.yaml.d (irsa/apiserver/k3s.sh) ---
# k3s reads config.yaml, then config.yaml.d/*.yaml and *.yml in lexical order; a
# key ending in '+' appends to the list the earlier files built (k3s
# pkg/configfilearg/parser.go). irsa never edits the user's files: its config
# file is its own drop-in (IRSA_DIST_OWNS_FILE), which revert deletes, so the
# configuration is exactly what it was. Within kube-apiserver-arg, a flag name
# ending in '-' puts the value before k3s's own (or the user's), one ending in
# '+' after it (k3s GetArgs): the first issuer signs, the later ones are accepted.

IRSA_DIST_OWNS_FILE=true

irsa_issue_token() { k3s kubectl create token default -n default --audience "$1"; }
irsa_kubectl() { k3s kubectl "$@"; }

irsa_dist_config_path() { irsa_host_path "$K3S_DROP_IN"; }
# The drop-in's previous copy lives outside config.yaml.d, so that folder can go when irsa made it.
irsa_dist_backup_dir() { irsa_host_path "$K3S_BACKUP_DIR"; }

# The files k3s reads besides irsa's drop-in: config.yaml, then the other drop-ins.
k3s_user_files() {
  local dir f
  dir=$(irsa_host_path "$K3S_CONFIG_DIR")
  if [ -f "$dir/config.yaml" ]; then printf '%s\n' "$dir/config.yaml"; fi
  for f in "$dir/config.yaml.d"/*; do
    [ -f "$f" ] && [ "$f" != "$(irsa_dist_config_path)" ] || continue
    case ${f,,} in *.yaml | *.yml) printf '%s\n' "$f" ;; esac
  done
}

# The user's file that passes issuer $1 to kube-apiserver, if one does.
k3s_user_file_passing() {
  local file
  while IFS= read -r file; do
    if awk -v issuer="$1" '
      /service-account-issuer/ {
        at = index($0, "=" issuer)
        if (at && substr($0, at + 1 + length(issuer), 1) ~ /^([\047"[:space:]]|)$/) found = 1
      }
      END { exit !found }' "$file"; then
      printf '%s\n' "$file"
      return 0
    fi
  done < <(k3s_user_files)
  return 1
}

irsa_dist_preflight() {
  local dir drop_ins file
  dir=$(irsa_host_path "$K3S_CONFIG_DIR")
  drop_ins=$(dirname -- "$(irsa_dist_config_path)")
  IRSA_CONFIG_FILE=$(irsa_dist_config_path)
  [ -d "$dir" ] || irsa_fail "k3s not found: $dir is missing (install a k3s server first)"
  command -v k3s >/dev/null || irsa_fail "k3s not found: no k3s command on PATH"
  command -v systemctl >/dev/null || irsa_fail "no systemctl command on PATH: cannot restart $K3S_SERVICE"
  # kube-apiserver refuses an issuer given twice, and irsa does not edit the
  # user's files: to sign with its issuer, no user file may pass it already.
  case ${IRSA_MODE:-} in
    sign | retire | apply)
      if file=$(k3s_user_file_passing "$IRSA_ISSUER"); then
        irsa_fail "$file already passes --service-account-issuer=$IRSA_ISSUER to kube-apiserver, which refuses an issuer given twice: remove that entry there (irsa adds it in $IRSA_CONFIG_FILE) and run again"
      fi
      ;;
  esac
  K3S_CREATED_DIR=false
  if [ -f "$IRSA_CONFIG_FILE" ] && grep -qxF -- "$K3S_MARK_CREATED_DIR" "$IRSA_CONFIG_FILE"; then
    K3S_CREATED_DIR=true
  elif [ ! -d "$drop_ins" ] && [ "${IRSA_MODE:-}" != revert ] && [ "${IRSA_MODE:-}" != unsign ]; then
    mkdir -m 0755 -- "$drop_ins"
    K3S_CREATED_DIR=true
    irsa_log "created $drop_ins"
  fi
  irsa_log "preflight: k3s found ($dir), running as root"
}

# irsa's drop-in is all irsa's: without irsa's lines nothing is left.
irsa_dist_strip() { cat >/dev/null; }

# Remove irsa's drop-in $1, and config.yaml.d when irsa created it and it is empty now.
irsa_dist_remove() {
  local created=false temp
  if grep -qxF -- "$K3S_MARK_CREATED_DIR" "$1" 2>/dev/null; then created=true; fi
  rm -f -- "$1"
  # This run's temp files there are spent once irsa's file is gone.
  for temp in "${IRSA_TEMP_FILES[@]}"; do
    if [ "${temp%/*}" = "${1%/*}" ]; then rm -f -- "$temp"; fi
  done
  if [ "$created" = true ] && rmdir -- "${1%/*}" 2>/dev/null; then irsa_log "removed ${1%/*}"; fi
}

# The drop-in IRSA_WANT_* asks for. irsa's signer goes first ('-'), every other
# issuer irsa accepts after k3s's ('+'), its key files before k3s's ('-') when
# irsa signs and after them ('+') when not (all verify; the order only reads well), its signing key replaces k3s's, its audiences are added ('+') to
# k3s's, so tokens pods hold stay valid. When the host signs, the issuers a
# user file already passes are left out (kube-apiserver refuses a repeat).
irsa_dist_render() { # $1 the stripped file (empty)
  local issuer kid i
  printf '%s\n' "# Written by irsa (IAM Roles for Service Accounts); irsa revert deletes this file."
  if [ "$K3S_CREATED_DIR" = true ]; then printf '%s\n' "$K3S_MARK_CREATED_DIR"; fi
  if [ -n "$K3S_HOST_ISSUER" ]; then printf '%s%s\n' "$K3S_MARK_HOST_ISSUER" "$K3S_HOST_ISSUER"; fi
  printf '%s\n' "kube-apiserver-arg+:"
  if [ -n "$IRSA_WANT_SIGN_ISSUER" ]; then
    printf -- '- "service-account-issuer-=%s"\n' "$IRSA_WANT_SIGN_ISSUER"
  fi
  for issuer in "${IRSA_WANT_ISSUERS[@]}"; do
    [ "$issuer" != "$IRSA_WANT_SIGN_ISSUER" ] || continue
    if [ -z "$IRSA_WANT_SIGN_ISSUER" ] && k3s_user_file_passing "$issuer" >/dev/null; then continue; fi
    printf -- '- "service-account-issuer+=%s"\n' "$issuer"
  done
  if [ -n "$IRSA_WANT_SIGN_ISSUER" ]; then
    # Each '-' value goes first, so the last one written is the first key file.
    for ((i = ${#IRSA_WANT_KIDS[@]} - 1; i >= 0; i--)); do
      printf -- '- "service-account-key-file-=%s"\n' "$(irsa_public_key_path "${IRSA_WANT_KIDS[$i]}")"
    done
  else
    for kid in "${IRSA_WANT_KIDS[@]}"; do
      printf -- '- "service-account-key-file+=%s"\n' "$(irsa_public_key_path "$kid")"
    done
  fi
  if [ -n "$IRSA_WANT_SIGN_KID" ]; then
    printf -- '- "service-account-signing-key-file=%s"\n' "$(irsa_private_key_path "$IRSA_WANT_SIGN_KID")"
  fi
  if [ -n "$IRSA_WANT_AUDIENCES" ]; then
    printf -- '- "api-audiences+=%s"\n' "$IRSA_WANT_AUDIENCES"
  fi
}

# The value of each entry of drop-in $1 whose flag is $2 (suffix included).
k3s_entries() {
  [ -f "$1" ] || return 0
  awk -v flag="$2" '
    index($0, "- \"" flag "=") == 1 { v = substr($0, length(flag) + 5); sub(/"$/, "", v); print v }' "$1"
}

# What irsa's drop-in $1 accepts and signs with (IRSA_CUR_*). While irsa does
# not sign, the API server signs with the host's own issuer: note it
# (K3S_HOST_ISSUER, kept in the drop-in) for the self-check of a later unsign.
irsa_dist_current() {
  local path token_iss
  IRSA_CUR_SIGN_ISSUER=$(k3s_entries "$1" service-account-issuer- | head -n 1)
  mapfile -t IRSA_CUR_ISSUERS < <(k3s_entries "$1" service-account-issuer-; k3s_entries "$1" service-account-issuer+)
  IRSA_CUR_KIDS=()
  while IFS= read -r path; do
    irsa_is_our_key_file "$path" && IRSA_CUR_KIDS+=("$(irsa_kid_of_path "$path")")
  done < <(k3s_entries "$1" service-account-key-file- | tac; k3s_entries "$1" service-account-key-file+)
  IRSA_CUR_SIGN_KID=""
  path=$(k3s_entries "$1" service-account-signing-key-file | head -n 1)
  if [ -n "$path" ] && irsa_is_our_key_file "$path"; then IRSA_CUR_SIGN_KID=$(irsa_kid_of_path "$path"); fi
  K3S_HOST_ISSUER=""
  if [ -f "$1" ]; then
    K3S_HOST_ISSUER=$(sed -n "s|^$K3S_MARK_HOST_ISSUER||p" "$1" | head -n 1)
  fi
  if [ -z "$IRSA_CUR_SIGN_ISSUER" ] && token_iss=$(k3s_token_issuer); then
    K3S_HOST_ISSUER=$token_iss
  fi
  if [ -z "$K3S_HOST_ISSUER" ] && [ "$IRSA_MODE" = accept ] && [ -z "$IRSA_CUR_SIGN_ISSUER" ]; then
    irsa_fail "k3s's API server gave no token: accept keeps k3s's own issuer signing and must learn it from a running k3s first; nothing was changed (journalctl -u $K3S_SERVICE says why it is down)"
  fi
}

# The iss of a fresh token (the token itself is never printed).
k3s_token_issuer() {
  local token rest
  token=$(irsa_issue_token "$IRSA_AUDIENCE" 2>/dev/null) || return 1
  rest=${token#*.}
  irsa_json_string "$(irsa_b64url_decode "${rest%%.*}" 2>/dev/null || true)" iss
}

# The issuer kube-apiserver signs with for drop-in $1: irsa's '-' issuer, or the host's own.
irsa_dist_signing_issuer() {
  local issuer
  issuer=$(k3s_entries "$1" service-account-issuer- | head -n 1)
  if [ -z "$issuer" ]; then issuer=$(sed -n "s|^$K3S_MARK_HOST_ISSUER||p" "$1" | head -n 1); fi
  printf '%s\n' "$issuer"
}

# The key files irsa's drop-in $1 names, as the API server sees them.
irsa_dist_marked_key_paths() {
  [ -f "$1" ] || return 0
  sed -n 's/^- "service-account-\(signing-\)\{0,1\}key-file[-+]\{0,1\}=\(.*\)"$/\2/p' "$1"
}

k3s_ready() { [ "$(k3s kubectl get --raw /readyz 2>/dev/null)" = ok ]; }

# k3s runs kube-apiserver in its own process: when kube-apiserver refuses its
# flags, its "Error: …" or klog fatal "F…" lines and k3s's level=fatal line go
# to k3s's journal (k3s logs to stderr under systemd), and k3s exits. Not klog
# "E…" lines: a healthy kube-apiserver prints some while it starts (1.37: "The
# manifest file is empty, ignoring."), and they are no refusal.
k3s_journal_errors() { # $1 epoch
  command -v journalctl >/dev/null || return 0
  journalctl -u "$K3S_SERVICE" --since "@$1" --no-pager -o cat 2>/dev/null \
    | grep -E '(^|[[:space:]])Error: |^F[0-9]{4} |level=fatal' | tail -n 3 || true
}

# Restart, then wait until /readyz answers ok; stop early, quoting the journal,
# when it shows the API server refusing to start.
irsa_dist_restart_and_wait() {
  local output started deadline errors
  started=$(date +%s)
  irsa_log "restarting k3s: systemctl restart $K3S_SERVICE"
  if ! output=$(systemctl restart "$K3S_SERVICE" 2>&1); then
    errors=$(k3s_journal_errors "$started")
    IRSA_PROBLEM="systemctl restart $K3S_SERVICE failed: $(printf '%s' "$output" | tail -n 3 | tr '\n' ' ')"
    if [ -n "$errors" ]; then IRSA_PROBLEM="$IRSA_PROBLEM; its journal (journalctl -u $K3S_SERVICE) says: $(printf '%s' "$errors" | tr '\n' ' ')"; fi
    return 1
  fi
  irsa_log "waiting for the API server: k3s kubectl get --raw /readyz (up to ${IRSA_READY_TIMEOUT}s)"
  deadline=$((started + IRSA_READY_TIMEOUT))
  until k3s_ready; do
    errors=$(k3s_journal_errors "$started")
    if [ -n "$errors" ]; then
      IRSA_PROBLEM="the API server refused to start; its journal (journalctl -u $K3S_SERVICE) says: $(printf '%s' "$errors" | tr '\n' ' ')"
      return 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      if k3s_ready; then break; fi
      IRSA_PROBLEM="k3s's API server did not become ready within ${IRSA_READY_TIMEOUT}s after the restart (journalctl -u $K3S_SERVICE says why)"
      return 1
    fi
    sleep 1
  done
  irsa_log "k3s is ready"
}

irsa_main "$@" </dev/null
