#!/usr/bin/env bash
# `npm run e2e [-- <vitest args, e.g. a file>]`: the end-to-end files in their two lanes at once (vitest.e2e.config.mts):
# "machine" (worlds on the machine's engine, one after another) prints as it goes; "own" (worlds on engines of their
# own, one after another) runs beside it into a log, printed when it ends. Exit 0 only when both lanes pass.
#
# Environment: E2E_JSON_REPORT=<file> also writes vitest's JSON report of both lanes together there (.ci/run counts
# from it).
set -uo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

lane() {
  local name=$1; shift
  npx vitest run --config vitest.e2e.config.mts --project "$name" --passWithNoTests \
    --reporter=default --reporter=json --outputFile.json="$work/$name.json" "$@"
}

lane own "$@" > "$work/own.log" 2>&1 &
own_pid=$!
lane machine "$@"
machine_status=$?
wait "$own_pid"
own_status=$?
echo "===== e2e lane \"own\" (engines of their own), run beside the lane above ====="
cat "$work/own.log"

if [ -n "${E2E_JSON_REPORT:-}" ]; then
  # One report as vitest would write it for one run: the totals .ci/run reads, summed (a lane without a report,
  # e.g. one that crashed, counts as one failed test).
  node -e '
    const fs = require("fs");
    const total = { numPassedTests: 0, numFailedTests: 0, numTotalTests: 0, testResults: [] };
    // node -e: argv[0] is node, the files follow.
    for (const file of process.argv.slice(1)) {
      let r;
      try { r = JSON.parse(fs.readFileSync(file, "utf8")); } catch { total.numFailedTests += 1; total.numTotalTests += 1; continue; }
      total.numPassedTests += r.numPassedTests; total.numFailedTests += r.numFailedTests; total.numTotalTests += r.numTotalTests;
      total.testResults.push(...r.testResults);
    }
    fs.writeFileSync(process.env.E2E_JSON_REPORT, JSON.stringify(total));
  ' "$work/machine.json" "$work/own.json"
fi
[ "$machine_status" -eq 0 ] && [ "$own_status" -eq 0 ]
