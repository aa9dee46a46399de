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
