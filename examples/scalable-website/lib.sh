# Shared by part-a.sh and part-b.sh: where kumo is, how steps and checks are printed, and how
# to wait on a state with a deadline. Only the aws CLI, curl, ssh and mysql are used.
#
#   KUMO_URL       kumo's endpoint (default http://localhost:4566); the aws CLI reaches it
#                  through AWS_ENDPOINT_URL, as it would any endpoint
#   KUMO_TIMED=1   (or --timed) print each step's wall time and the total at the end

export AWS_ENDPOINT_URL="${KUMO_URL:-${AWS_ENDPOINT_URL:-http://localhost:4566}}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-ap-northeast-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_PAGER=""

for arg in "$@"; do [ "$arg" = --timed ] && KUMO_TIMED=1; done
WORK="$(mktemp -d)"
STARTED=$(date +%s.%N)
STEP_STARTED=$STARTED
STEP_NAME=""
TIMINGS=""

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Ends the previous step (its time) and starts the next one.
step() {
  end_step
  STEP_NAME="$1"
  STEP_STARTED=$(now)
  printf '\n== %s\n' "$1"
}

end_step() {
  [ -n "$STEP_NAME" ] || return 0
  local took
  took=$(elapsed "$STEP_STARTED")
  TIMINGS="${TIMINGS}$(printf '%8s s  %s' "$took" "$STEP_NAME")"$'\n'
  [ -z "${KUMO_TIMED:-}" ] || printf '   (%s s)\n' "$took"
  STEP_NAME=""
}

# A check that held, as the documents would have you look at it.
ok() { printf '   ok: %s\n' "$*"; }
fail() {
  printf '   FAILED: %s\n' "$*" >&2
  exit 1
}
# check "what" test-expression...: runs the test, prints ok or fails.
check() {
  local what="$1"
  shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}

# wait_for "what" seconds command...: runs the command until it succeeds, or fails after the deadline.
wait_for() {
  local what="$1" limit="$2" deadline
  shift 2
  deadline=$(( $(date +%s) + limit ))
  until "$@" > /dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "$what (not within ${limit} s)"
    sleep 1
  done
  ok "$what"
}

finish() {
  end_step
  if [ -n "${KUMO_TIMED:-}" ]; then
    printf '\nWall time per step:\n%s%8s s  total\n' "$TIMINGS" "$(elapsed "$STARTED")"
  fi
}

# Text output of an aws CLI call (no "None" for absent values).
q() { aws "$@" --output text | sed 's/^None$//'; }

# At exit: a site watcher still running stops; after a failure, what the script made is deleted
# (its `teardown`), unless KUMO_KEEP_ON_FAILURE=1 asks to keep it to look at.
on_exit() {
  local rc=$?
  kill $(jobs -p) 2> /dev/null || true
  wait 2> /dev/null || true
  if [ -z "${TORN_DOWN:-}" ] && [ "$rc" != 0 ]; then
    if [ -n "${KUMO_KEEP_ON_FAILURE:-}" ]; then
      echo "(KUMO_KEEP_ON_FAILURE: everything is left as it is; the key pair is in $WORK)" >&2
      return
    fi
    echo "(deleting what was made)" >&2
    teardown
  fi
  rm -rf "$WORK"
}
trap on_exit EXIT
