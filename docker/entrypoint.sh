#!/bin/sh
# The image's entry point: `livehost ARGS`, after making (once) the API token Prometheus scrapes /metrics with
# when LIVEHOST_METRICS_TOKEN_FILE names where to put it (a volume Prometheus reads too).
set -eu
token_file=${LIVEHOST_METRICS_TOKEN_FILE:-}
if [ -n "$token_file" ] && [ ! -s "$token_file" ]; then
  livehost user list 2>/dev/null | grep -q '^prometheus' \
    || livehost user add prometheus --role viewer --no-password >/dev/null
  umask 077
  livehost user token prometheus --label prometheus > "$token_file.tmp"
  chmod 0644 "$token_file.tmp"  # Prometheus runs as another user; the token only reads metrics and states
  mv "$token_file.tmp" "$token_file"
  echo "livehost: made a viewer token for Prometheus in $token_file"
fi
exec livehost "$@"
