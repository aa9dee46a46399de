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
