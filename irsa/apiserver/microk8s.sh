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
