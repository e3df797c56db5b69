#!/usr/bin/env bash
# Start/stop the real test services (registries, token server, nginx Helm repo) on 127.0.0.1 with
# free ports, for manual use. Thin wrapper over scripts/rig.mjs.
#
#   scripts/test-services.sh start    # start (restarts leftovers) and print `export AIRGAP_TEST_…=…` lines
#   scripts/test-services.sh env      # print the export lines of the running services
#   scripts/test-services.sh status   # pid and state of each service (exit 1 if any is down)
#   scripts/test-services.sh stop     # stop everything of the rig (and stale per-run rigs of test runs)
#
# Rig folder: $AIRGAP_RIG or <repo>/.rig. Use with vitest:
#   eval "$(scripts/test-services.sh start)" && npx vitest run test/integration   # reuses these services
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cmd="${1:-}"
case "$cmd" in
  start|stop|status|env|sweep) exec node "$here/rig.mjs" "$cmd" ${AIRGAP_RIG:+"$AIRGAP_RIG"} ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
