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
