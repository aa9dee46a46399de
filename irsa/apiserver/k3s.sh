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
