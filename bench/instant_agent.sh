#!/bin/sh
# An agent that finishes instantly, speaking the command-harness contract (DESIGN §6).
# Workers and executors write one small file named after their task and signal completion;
# reviewers approve; resolvers signal completion; with no task the agent says __DONE__.
# BENCH_AGENT_SLEEP (seconds) makes every turn sleep first: "agents busy, engine idle".
# BENCH_AGENT_FILE names one file every task rewrites instead (tasks that would conflict).
cat >/dev/null
if [ -n "${BENCH_AGENT_SLEEP:-}" ]; then sleep "$BENCH_AGENT_SLEEP"; fi
case "$OOMPA_ROLE" in
  reviewer) echo "VERDICT: APPROVED" ;;
  resolver)
    # a conflict on the one shared file is resolved by writing it again, markers gone
    if [ -n "${BENCH_AGENT_FILE:-}" ]; then echo "resolved by $OOMPA_TASK_ID" > "$BENCH_AGENT_FILE"; fi
    echo "COMPLETE_AND_READY_FOR_MERGE" ;;
  *)
    if [ -z "${OOMPA_TASK_ID:-}" ]; then echo "__DONE__"; exit 0; fi
    echo "done by $OOMPA_TASK_ID" > "${BENCH_AGENT_FILE:-bench-$OOMPA_TASK_ID.txt}"
    echo "COMPLETE_AND_READY_FOR_MERGE" ;;
esac
