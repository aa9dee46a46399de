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
