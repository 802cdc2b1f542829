#!/usr/bin/env bash
# Lists the tests that were skipped, from the notes they left:
#
#   tests/skips/summary.sh DIR...
#
# Each DIR is the notes folder of one make rule (build/skips/<rule>), where
# a skipped test wrote <suite>/<test> holding its reason (the Rust helper
# core/tests/skips, the pytest plugin tests/skips/skip_notes.py, or a make
# recipe). Prints one line per suite and reason:
#
#   SKIPPED rust-test: wycheproof, 5 tests: the Wycheproof vectors are not at ...
#
# and nothing when no test was skipped. Missing folders are fine.
set -euo pipefail

for dir in "$@"; do
    [[ -d $dir ]] || continue
    rule=$(basename "$dir")
    for suite_dir in "$dir"/*/; do
        [[ -d $suite_dir ]] || continue
        suite=$(basename "$suite_dir")
        # Count the tests per distinct reason (the first line of each note).
        for f in "$suite_dir"*; do head -n 1 "$f"; done | sort | uniq -c |
            while read -r count reason; do
                if ((count == 1)); then what="1 test"; else what="$count tests"; fi
                echo "SKIPPED $rule: $suite, $what: $reason"
            done
    done
done
