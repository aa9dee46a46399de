# --- microk8s: kubelite's args file, edited line by line (irsa/apiserver/microk8s.sh) ---
# kubelite skips empty lines and lines starting with '#', and splits the rest on
# spaces: a '#' after a flag would become an argument. So every marker is a line
# of its own, just above the one line it marks.

irsa_issue_token() { microk8s kubectl create token default -n default --audience "$1"; }
irsa_kubectl() { microk8s kubectl "$@"; }

irsa_dist_config_path() { irsa_host_path "$MICROK8S_ARGS"; }

irsa_dist_preflight() {
  IRSA_CONFIG_FILE=$(irsa_dist_config_path)
  [ -f "$IRSA_CONFIG_FILE" ] || irsa_fail "MicroK8s not found: $IRSA_CONFIG_FILE is missing (install it: snap install microk8s --classic)"
  command -v microk8s >/dev/null || irsa_fail "MicroK8s not found: no microk8s command on PATH"
  command -v snap >/dev/null || irsa_fail "no snap command on PATH: cannot restart $MICROK8S_SERVICE"
  irsa_log "preflight: MicroK8s found ($IRSA_CONFIG_FILE), running as root"
}

# The flag name and the value of one args-file line, as kubelite reads it
# (quotes removed); the name is "" for comments.
MICROK8S_AWK_FUNCTIONS='
  function clean(line) { sub(/^[ \t]+/, "", line); gsub(/"/, "", line); gsub(quote, "", line); return line }
  function flag(line) { line = clean(line); if (line ~ /^#/) return ""; sub(/[= \t].*$/, "", line); return line }
  function value(line) { line = clean(line); if (!sub(/^[^= \t]*[= \t]+/, "", line)) return ""; sub(/[ \t].*$/, "", line); return line }
'

# The lines irsa adds, each under its marker: our signer first (when we sign),
# then the other issuers we accept, the key files, the signing key, the audiences.
# Issuers in $1 (newline-separated: the host's own lines) are left out when we do
# not sign: the host's line already accepts them.
microk8s_block() { # $1 the host's own issuers
  local issuer kid
  if [ -n "$IRSA_WANT_SIGN_ISSUER" ]; then
    printf '%s\n%s\n' "$MICROK8S_MARK_ADDED" "--service-account-issuer=$IRSA_WANT_SIGN_ISSUER"
  fi
  for issuer in "${IRSA_WANT_ISSUERS[@]}"; do
    [ "$issuer" != "$IRSA_WANT_SIGN_ISSUER" ] || continue
    if [ -z "$IRSA_WANT_SIGN_ISSUER" ] && grep -qxF -- "$issuer" <<<"$1"; then continue; fi
    printf '%s\n%s\n' "$MICROK8S_MARK_ADDED" "--service-account-issuer=$issuer"
  done
  for kid in "${IRSA_WANT_KIDS[@]}"; do
    printf '%s\n%s\n' "$MICROK8S_MARK_ADDED" "--service-account-key-file=$(irsa_public_key_path "$kid")"
  done
  if [ -n "$IRSA_WANT_SIGN_KID" ]; then
    printf '%s\n%s\n' "$MICROK8S_MARK_ADDED" "--service-account-signing-key-file=$(irsa_private_key_path "$IRSA_WANT_SIGN_KID")"
  fi
  if [ -n "$IRSA_WANT_AUDIENCES" ]; then
    printf '%s\n%s\n' "$MICROK8S_MARK_ADDED" "--api-audiences=$IRSA_WANT_AUDIENCES"
  fi
}

# stdin → stdout: the file without anything irsa added or commented.
irsa_dist_strip() {
  awk -v added="$MICROK8S_MARK_ADDED" -v commented="$MICROK8S_MARK_COMMENTED" '
    pending == "added" { pending = ""; next }
    pending == "commented" { pending = ""; sub(/^#/, ""); print; next }
    $0 == added { pending = "added"; next }
    $0 == commented { pending = "commented"; next }
    { print }'
}

# The host's own issuers in file $1 (without irsa's lines), one per line.
microk8s_own_issuers() {
  awk -v quote="'" "$MICROK8S_AWK_FUNCTIONS"'
    flag($0) == "--service-account-issuer" { print value($0) }' "$1"
}

# stdin (a file without irsa lines) → stdout: irsa's block added. When irsa
# signs, the block goes before the host's first issuer, and the host's lines
# that would clash are commented where they stand: its signing key and
# audiences (single-valued), and any issuer of ours it already names
# (kube-apiserver refuses a repeated issuer). When the host signs, the block
# goes after the host's first issuer, which keeps signing.
irsa_dist_render() { # $1 the stripped file (for the host's own issuers)
  local signing=false
  [ -n "$IRSA_WANT_SIGN_ISSUER" ] && signing=true
  MICROK8S_BLOCK=$(microk8s_block "$(microk8s_own_issuers "$1")") \
    MICROK8S_OURS=$(printf '%s\n' "${IRSA_WANT_ISSUERS[@]}") \
    awk -v commented="$MICROK8S_MARK_COMMENTED" -v quote="'" -v signing="$signing" "$MICROK8S_AWK_FUNCTIONS"'
    BEGIN {
      block = ENVIRON["MICROK8S_BLOCK"]
      n = split(ENVIRON["MICROK8S_OURS"], list, "\n")
      for (i = 1; i <= n; i++) if (list[i] != "") ours[list[i]] = 1
      if (block == "") inserted = 1
    }
    {
      f = flag($0)
      if (signing == "true") {
        if (!inserted && f == "--service-account-issuer") { print block; inserted = 1 }
        if ((f == "--service-account-issuer" && value($0) in ours) \
            || f == "--service-account-signing-key-file" || f == "--api-audiences") {
          print commented
          print "#" $0
          next
        }
      }
      print
      if (signing != "true" && !inserted && f == "--service-account-issuer") { print block; inserted = 1 }
    }
    END { if (!inserted) print block }' <"$1"
}

# What irsa's lines in file $1 accept and sign with (IRSA_CUR_*).
irsa_dist_current() {
  local line kind path
  IRSA_CUR_SIGN_ISSUER=""
  IRSA_CUR_SIGN_KID=""
  IRSA_CUR_ISSUERS=()
  IRSA_CUR_KIDS=()
  while IFS= read -r line; do
    kind=${line%%=*}
    path=${line#*=}
    case $kind in
      --service-account-issuer) IRSA_CUR_ISSUERS+=("$path") ;;
      --service-account-key-file) irsa_is_our_key_file "$path" && IRSA_CUR_KIDS+=("$(irsa_kid_of_path "$path")") ;;
      --service-account-signing-key-file) irsa_is_our_key_file "$path" && IRSA_CUR_SIGN_KID=$(irsa_kid_of_path "$path") ;;
    esac
  done < <(awk -v added="$MICROK8S_MARK_ADDED" 'pending { pending = 0; print; next } $0 == added { pending = 1 }' "$1")
  # When irsa signs, its block comes first and starts with its signer.
  if [ -n "$IRSA_CUR_SIGN_KID" ] && [ "${#IRSA_CUR_ISSUERS[@]}" -gt 0 ]; then
    IRSA_CUR_SIGN_ISSUER=${IRSA_CUR_ISSUERS[0]}
  fi
}

# The issuer kube-apiserver signs with for file $1: the first one it reads.
irsa_dist_signing_issuer() {
  awk -v quote="'" "$MICROK8S_AWK_FUNCTIONS"'
    flag($0) == "--service-account-issuer" { print value($0); exit }' "$1"
}

# The key files that irsa's lines in file $1 name, as the API server sees them.
irsa_dist_marked_key_paths() {
  awk -v added="$MICROK8S_MARK_ADDED" '
    pending { pending = 0; if (sub(/^--service-account-(signing-)?key-file=/, "")) print; next }
    $0 == added { pending = 1 }' "$1"
}

# The API server's own words of refusal since epoch $1, from kubelite's journal:
# kube-apiserver prints "Error: …" when it refuses its flags, or a klog fatal
# "F…" line. Not klog "E…" lines: a healthy kube-apiserver prints some while it
# starts (1.37: "The manifest file is empty, ignoring.").
microk8s_journal_errors() {
  command -v journalctl >/dev/null || return 0
  journalctl -u "snap.$MICROK8S_SERVICE" --since "@$1" --no-pager -o cat 2>/dev/null \
    | grep -E '(^|[[:space:]])Error: |^F[0-9]{4} ' | tail -n 3 || true
}

# Restart, then wait until ready; stop early, quoting the API server, when its
# journal shows it refusing to start (kubelite exits and systemd restarts it,
# so waiting for the timeout would only repeat the error).
irsa_dist_restart_and_wait() {
  local output started deadline step errors
  started=$(date +%s)
  irsa_log "restarting the API server: snap restart $MICROK8S_SERVICE"
  if ! output=$(snap restart "$MICROK8S_SERVICE" 2>&1); then
    IRSA_PROBLEM="snap restart $MICROK8S_SERVICE failed: $(printf '%s' "$output" | tail -n 3 | tr '\n' ' ')"
    return 1
  fi
  irsa_log "waiting for MicroK8s (up to ${IRSA_READY_TIMEOUT}s): microk8s status --wait-ready"
  deadline=$((started + IRSA_READY_TIMEOUT))
  while :; do
    step=$((deadline - $(date +%s)))
    [ "$step" -gt 10 ] && step=10
    [ "$step" -lt 1 ] && step=1
    if microk8s status --wait-ready --timeout "$step" >/dev/null 2>&1; then
      irsa_log "MicroK8s is ready"
      return 0
    fi
    errors=$(microk8s_journal_errors "$started")
    if [ -n "$errors" ]; then
      IRSA_PROBLEM="the API server refused to start; its journal (journalctl -u snap.$MICROK8S_SERVICE) says: $(printf '%s' "$errors" | tr '\n' ' ')"
      return 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      # One last look, so a probe that started late still counts.
      if microk8s status --wait-ready --timeout 1 >/dev/null 2>&1; then
        irsa_log "MicroK8s is ready"
        return 0
      fi
      IRSA_PROBLEM="MicroK8s did not become ready within ${IRSA_READY_TIMEOUT}s after the restart"
      return 1
    fi
    sleep 1
  done
}
