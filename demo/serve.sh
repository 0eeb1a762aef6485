#!/usr/bin/env bash
# The last part of `make run`: the service (`substreg serve`) with the demo practice as
# its tenant `demo`, left running in the background (pid in .run/service.pid, its JSON log
# in .run/service.log; `make stop` stops it). Run from the repository's root by `make run`,
# which sets BIN.
#
# The service keeps its own home, .run/service: its registry (registry.db) and each
# tenant's home under tenants/<id>/ (keyring, database). The demo tenant is a practice
# installation of its own, fed with the same demo data by `substreg sync`; its reports
# wait there for a doctor's approval over HTTP. A second `make run` restarts the service,
# keeps the tenant, records nothing new and prints a fresh key.
set -euo pipefail

BIN=${BIN:-.venv/bin}
RUN=.run
AS_OF=${AS_OF:-2025-12-31}
substreg="$BIN/substreg"
helper="$BIN/python demo/round_helper.py"
pidfile="$RUN/service.pid"
service_home="$PWD/$RUN/service"
tenant_home="$service_home/tenants/demo"
config="$PWD/$RUN/practice.toml" # with the simulator's certificate pinned (round.sh)
[ -f "$config" ] || config="$PWD/demo/practice.toml"

stop_service() {
    if [ -f "$pidfile" ]; then
        pid=$(cat "$pidfile")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            echo "(the service, pid $pid, is stopped)"
        fi
        rm -f "$pidfile"
    fi
}

if [ "${1:-}" = stop ]; then
    stop_service
    exit 0
fi

export SUBSTREG_HOME="$service_home"
unset SUBSTREG_DATABASE_URL
echo
echo "== 8. The service: the demo practice as its tenant 'demo' ($RUN/service)"
stop_service # a second make run: the service starts again on the code as it is now
if "$substreg" tenant list | grep -q '^demo[[:space:]]'; then
    echo "  the tenant demo: kept from an earlier run"
else
    "$substreg" tenant add demo --config "$config"
fi
SUBSTREG_HOME="$tenant_home" SUBSTREG_DATABASE_URL="sqlite:///$tenant_home/substreg.db" \
    "$substreg" sync demo/ --as-of "$AS_OF" --config "$config" >/dev/null
echo "  synced the demo data into the tenant's own database ($tenant_home)"
key=$("$substreg" tenant key demo --role doctor 2>/dev/null)
port=$($helper port 8780)
PYTHONUNBUFFERED=1 nohup "$substreg" serve --port "$port" >"$RUN/service.log" 2>&1 &
echo $! >"$pidfile"
if ! $helper wait "http://127.0.0.1:$port" "$(cat "$pidfile")" /readyz; then
    cat "$RUN/service.log" >&2
    rm -f "$pidfile"
    exit 1
fi
base="http://127.0.0.1:$port"
echo
echo "The service runs in the background (pid $(cat "$pidfile"), log $RUN/service.log):"
echo "  OpenAPI docs:   $base/docs   (the schema: $base/openapi.json)"
echo "  FHIR base:      $base/fhir"
echo "  health:         $base/healthz, $base/readyz, $base/metrics"
echo "  a doctor's API key for the tenant demo (shown once; \`$substreg tenant key demo --role staff\` makes more):"
echo "    $key"
echo "  try:            curl -H 'Authorization: Bearer $key' '$base/reports?state=pending'"
echo "  stop it:        make stop"
