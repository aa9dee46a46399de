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

irsa_dist_config_path() { irsa_host_path "$KUBEADM_MANIFEST"; }
# Outside the manifest folder: the kubelet would run a second API server from a copy there.
irsa_dist_backup_dir() { irsa_host_path "$KUBEADM_BACKUP_DIR"; }

irsa_dist_preflight() {
  IRSA_CONFIG_FILE=$(irsa_dist_config_path)
  [ -f "$IRSA_CONFIG_FILE" ] || irsa_fail "kubeadm control plane not found: $IRSA_CONFIG_FILE is missing (run irsa against a control-plane node)"
  local program
  for program in kubectl crictl; do
    command -v "$program" >/dev/null || irsa_fail "no $program command on PATH: irsa needs it to see the kubelet replace kube-apiserver"
  done
  if [ "${IRSA_MODE:-}" != revert ] && ! grep -qE '^[[:space:]]*- --service-account-issuer=' "$IRSA_CONFIG_FILE"; then
    irsa_fail "$IRSA_CONFIG_FILE has no '- --service-account-issuer=…' line in its command: not a manifest kubeadm wrote; nothing was changed"
  fi
  KUBEADM_SERVER=$(sed -n 's/^ *kubeadm\.kubernetes\.io\/kube-apiserver\.advertise-address\.endpoint: *//p' "$IRSA_CONFIG_FILE" | head -n 1)
  kubeadm_note_running
  irsa_log "preflight: kube-apiserver static pod found ($IRSA_CONFIG_FILE), running as root; API server of this node: ${KUBEADM_SERVER:-as in the kubeconfig}"
}

# stdin → stdout: the manifest without anything irsa added or commented.
irsa_dist_strip() {
  awk -v added="$KUBEADM_MARK_ADDED" -v commented="$KUBEADM_MARK_COMMENTED" '
    function bare(line) { sub(/^[ \t]+/, "", line); return line }
    pending == "added" { pending = ""; next }
    pending == "commented" { pending = ""; sub(/^#/, ""); print; next }
    bare($0) == added { pending = "added"; next }
    bare($0) == commented { pending = "commented"; next }
    { print }'
}

irsa_dist_render() { # $1 the stripped manifest
  local rc=0
  kubeadm_add_marked "$1" || rc=$?
  case $rc in
    0) ;;
    4) irsa_fail "$IRSA_CONFIG_FILE has no volumeMounts and volumes lists to mount $IRSA_KEY_DIR into kube-apiserver: not a manifest kubeadm wrote; nothing was changed" ;;
    *) irsa_fail "$IRSA_CONFIG_FILE has no '- --service-account-issuer=…' line in its command: not a manifest kubeadm wrote; nothing was changed" ;;
  esac
}

# The manifest IRSA_WANT_* asks for, from the manifest as irsa found it ($1,
# without irsa lines; read twice). When irsa signs, its block goes before the
# first issuer (the first issuer signs, the later ones stay accepted), and the
# lines that take one value are commented where they stand: the signing key
# and the audiences. The audiences keep what the API server accepted before
# (its --api-audiences, or else its issuers, the default) so that tokens pods
# hold stay valid. A line that already names one of irsa's issuers or key
# files (a host set up by hand) is commented too: kube-apiserver refuses an
# issuer given twice. When the host signs, the block goes after the first
# issuer, holds no signing key and no audiences, and leaves out what the
# host's own lines already name; nothing is commented.
# kube-apiserver runs in a container that sees only the host folders mounted
# into it: unless irsa:keyDir is inside one (kubeadm mounts /etc/kubernetes/pki
# at the same path), irsa adds a read-only hostPath volume for it.
# Exit 3: no issuer line; exit 4: no volumeMounts or volumes list to add to.
kubeadm_add_marked() {
  local kid keys="" signing_key=""
  for kid in "${IRSA_WANT_KIDS[@]}"; do keys+="$(irsa_public_key_path "$kid")"$'\n'; done
  [ -z "$IRSA_WANT_SIGN_KID" ] || signing_key=$(irsa_private_key_path "$IRSA_WANT_SIGN_KID")
  KUBEADM_KEYS=$keys KUBEADM_SIGNING=$signing_key KUBEADM_ISSUERS=$(printf '%s\n' "${IRSA_WANT_ISSUERS[@]}") \
    awk -v added="$KUBEADM_MARK_ADDED" -v commented="$KUBEADM_MARK_COMMENTED" \
    -v signer="$IRSA_WANT_SIGN_ISSUER" -v irsa_audiences="$IRSA_WANT_AUDIENCES" -v key_dir="$IRSA_KEY_DIR" '
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
      signing = signer != ""
      n = split(ENVIRON["KUBEADM_KEYS"], list, "\n")
      for (i = 1; i <= n; i++) if (list[i] != "") { keys[++nkeys] = list[i]; ours[list[i]] = 1 }
      n = split(ENVIRON["KUBEADM_ISSUERS"], list, "\n")
      for (i = 1; i <= n; i++) if (list[i] != "") { iss[++niss] = list[i]; our_issuer[list[i]] = 1 }
    }
    NR == FNR {
      f = flag($0)
      if (f == "--api-audiences") { had_audiences = 1; before = add(before, value($0)) }
      if (f == "--service-account-issuer") {
        host_issuer[value($0)] = 1
        if (!(value($0) in our_issuer)) issuers = add(issuers, value($0))
      }
      if (f == "--service-account-key-file") host_key[value($0)] = 1
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
      if (signing) mark(at, "- --service-account-issuer=" signer)
      for (i = 1; i <= niss; i++) {
        if (iss[i] == signer || (!signing && iss[i] in host_issuer)) continue
        mark(at, "- --service-account-issuer=" iss[i])
      }
      for (i = 1; i <= nkeys; i++) {
        if (!signing && keys[i] in host_key) continue
        mark(at, "- --service-account-key-file=" keys[i])
      }
      if (ENVIRON["KUBEADM_SIGNING"] != "") mark(at, "- --service-account-signing-key-file=" ENVIRON["KUBEADM_SIGNING"])
      if (irsa_audiences != "") mark(at, "- --api-audiences=" audiences)
      inserted = 1
    }
    signing && !inserted && f == "--service-account-issuer" { block(indent($0)) }
    signing && (f == "--service-account-signing-key-file" || f == "--api-audiences" ||
      (f == "--service-account-issuer" && v in our_issuer) || (f == "--service-account-key-file" && v in ours)) {
      print indent($0) commented
      print "#" $0
      next
    }
    { print }
    !signing && !inserted && f == "--service-account-issuer" { block(indent($0)) }
    END {
      if (!inserted) exit 3
      if (!mounted && !(mount_added && volume_added)) exit 4
    }' "$1" "$1"
}

# What irsa's lines in manifest $1 accept and sign with (IRSA_CUR_*); also
# which kube-apiserver container runs it now (the wait looks for a new one).
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
  done < <(awk -v added="$KUBEADM_MARK_ADDED" '
    function bare(line) { sub(/^[ \t]+/, "", line); return line }
    pending { pending = 0; line = bare($0); if (sub(/^- /, "", line)) print line; next }
    bare($0) == added { pending = 1 }' "$1")
  # When irsa signs, its block comes first and starts with its signer.
  if [ -n "$IRSA_CUR_SIGN_KID" ] && [ "${#IRSA_CUR_ISSUERS[@]}" -gt 0 ]; then
    IRSA_CUR_SIGN_ISSUER=${IRSA_CUR_ISSUERS[0]}
  fi
}

# The issuer kube-apiserver signs with for manifest $1: the first one in its command.
irsa_dist_signing_issuer() {
  sed -n 's/^[[:space:]]*- --service-account-issuer=//p' "$1" | head -n 1
}

# The key files that irsa's lines in manifest $1 name, as the API server sees them.
irsa_dist_marked_key_paths() {
  awk -v added="$KUBEADM_MARK_ADDED" '
    function bare(line) { sub(/^[ \t]+/, "", line); return line }
    pending { pending = 0; line = bare($0); if (sub(/^- --service-account-(signing-)?key-file=/, "", line)) print line; next }
    bare($0) == added { pending = 1 }' "$1"
}

# The running kube-apiserver container's id, or nothing.
kubeadm_container() { crictl ps --name kube-apiserver --state running -q 2>/dev/null | head -n 1 || true; }
# The newest exited kube-apiserver container's id (crictl ps lists the newest first), or nothing.
kubeadm_exited_container() { crictl ps -a --name kube-apiserver --state exited -q 2>/dev/null | head -n 1 || true; }

# The pod the kubelet runs from manifest $1: the kubelet reads YAML, so comments do not count.
kubeadm_pod_sum() { grep -v '^[[:space:]]*#' -- "$1" | sha256sum | cut -d ' ' -f 1; }

# What runs now: the container, the pod it runs, the last container that exited.
# A wait expects a new container only when the manifest's pod changed since.
kubeadm_note_running() {
  KUBEADM_RUNNING=$(kubeadm_container)
  KUBEADM_RUNNING_POD=$(kubeadm_pod_sum "$IRSA_CONFIG_FILE")
  KUBEADM_EXITED=$(kubeadm_exited_container)
}

# kube-apiserver's last words: the log of a container that exited since the change.
kubeadm_container_errors() {
  local id
  id=$(kubeadm_exited_container)
  [ -n "$id" ] && [ "$id" != "$KUBEADM_EXITED" ] || return 0
  crictl logs --tail 20 "$id" 2>&1 | grep -E '(^|[[:space:]])Error: |^[EF][0-9]{4} ' | tail -n 3 || true
}

kubeadm_replaced_and_ready() { # $1: the container id that must be gone ("" for any)
  local id
  id=$(kubeadm_container)
  [ -n "$id" ] && [ "$id" != "$1" ] &&
    [ "$(kubeadm_kubectl get --raw /readyz 2>/dev/null)" = ok ]
}

# There is no service to restart: the kubelet replaces the static pod when its
# manifest changes. Wait for a running kube-apiserver container with a new id
# (crictl ps) that answers /readyz on this node's address; stop early, quoting
# crictl logs, when a new container exits refusing its flags.
irsa_dist_restart_and_wait() {
  local gone="" deadline errors id
  if [ "$(kubeadm_pod_sum "$IRSA_CONFIG_FILE")" != "$KUBEADM_RUNNING_POD" ]; then
    gone=$KUBEADM_RUNNING
    irsa_log "waiting for the kubelet to replace kube-apiserver: a new running container (crictl ps) answering /readyz (up to ${IRSA_READY_TIMEOUT}s)"
  else
    irsa_log "the manifest's pod is unchanged, so the kubelet keeps kube-apiserver: waiting for /readyz (up to ${IRSA_READY_TIMEOUT}s)"
  fi
  deadline=$((SECONDS + IRSA_READY_TIMEOUT))
  until kubeadm_replaced_and_ready "$gone"; do
    errors=$(kubeadm_container_errors)
    if [ -n "$errors" ]; then
      id=$(kubeadm_exited_container)
      kubeadm_note_running
      IRSA_PROBLEM="kube-apiserver refused to start; its container's log (crictl logs $id) says: $(printf '%s' "$errors" | tr '\n' ' ')"
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      kubeadm_note_running
      IRSA_PROBLEM="the kubelet's new kube-apiserver was not ready within ${IRSA_READY_TIMEOUT}s (crictl ps -a --name kube-apiserver, then crictl logs ID, says why)"
      return 1
    fi
    sleep 1
  done
  kubeadm_note_running
  irsa_log "kube-apiserver is ready (container $KUBEADM_RUNNING)"
}
