#!/usr/bin/env bash
# The second half of `make run`: the demo practice's reports go to a register simulator on
# this machine, as a practice's would go to the register (docs/SUBMISSION.md). Run from
# the repository's root by `make run`, which sets BIN, SUBSTREG_HOME and
# SUBSTREG_DATABASE_URL (the embedded default under .run/) and has synced the demo.
#
# The simulator runs only while this script does: it is stopped at the end, also when a
# step fails (trap). Everything it keeps is in .run/register, the practice's keys in
# .run/keys: a second run reuses both and finds nothing new to approve or send.
set -euo pipefail

BIN=${BIN:-.venv/bin}
RUN=.run
substreg="$BIN/substreg"
python="$BIN/python"
helper="$python demo/round_helper.py"

show() { # print a command as make does (an argument with spaces in quotes), then run it
    local word line=
    for word in "$@"; do
        case $word in *" "*) word="\"$word\"" ;; esac
        line="$line${line:+ }$word"
    done
    printf '%s\n' "$line"
    "$@"
}

simulator_pid=
stop_simulator() {
    if [ -n "$simulator_pid" ] && kill -0 "$simulator_pid" 2>/dev/null; then
        kill "$simulator_pid" 2>/dev/null || true
        wait "$simulator_pid" 2>/dev/null || true
        echo "(the register simulator, pid $simulator_pid, is stopped)"
    fi
}
trap stop_simulator EXIT

echo
echo "== 3. A register simulator on this machine ($RUN/register), in the background:"
port=$($helper port)
endpoint="http://127.0.0.1:$port"
printf '%s\n' "$substreg register-sim --state $RUN/register --port $port >$RUN/register-sim.log 2>&1 &"
PYTHONUNBUFFERED=1 "$substreg" register-sim --state "$RUN/register" --port "$port" \
    >"$RUN/register-sim.log" 2>&1 &
simulator_pid=$!
if ! $helper wait "$endpoint" "$simulator_pid"; then
    cat "$RUN/register-sim.log" >&2
    exit 1
fi
sed -n '1,4p' "$RUN/register-sim.log"

echo
echo "== 4. The practice's submission setup: a signing key, the register's pinned certificate"
if [ -f "$RUN/keys/signer.key" ] && [ -f "$RUN/keys/signer.pem" ]; then
    echo "  $RUN/keys/signer.key and signer.pem: kept from an earlier run"
else
    mkdir -p -m 0700 "$RUN/keys"
    show "$substreg" envelope keygen --out-key "$RUN/keys/signer.key" \
        --out-cert "$RUN/keys/signer.pem" --name "Gemeinschaftspraxis am Lindenplatz (Demo)"
fi
$helper practice "$endpoint" demo/practice.toml "$RUN/practice.toml"

echo
echo "== 5. A person approves the pending reports (in a practice: each one, after reading it)"
mapfile -t pending < <("$substreg" reports list --state pending --format json | $helper pending)
if [ "${#pending[@]}" -eq 0 ]; then
    echo "No report is pending: nothing to approve (they were approved in an earlier run)."
else
    echo "$substreg reports approve \$($substreg reports list --state pending ...)  # ${#pending[@]} report(s)"
    "$substreg" reports approve "${pending[@]}"
fi

echo
echo "== 6. Submit: sealed per doctor (signed, encrypted to the register), sent, receipts verified"
show "$substreg" submit --config "$RUN/practice.toml"

echo
echo "== 7. What the practice keeps: the outbox (receipts) and the ledger's states"
show "$substreg" outbox list
show "$substreg" reports list
show "$substreg" audit verify
