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

# poll seconds command...: runs the command until it succeeds, half a second apart, quietly;
# false after the deadline. (The aws CLI's own `wait` commands poll every 15 to 30 s: AWS's pace,
# not kumo's, so the scripts poll the same describe calls themselves.)
poll() {
  local limit="$1" deadline
  shift
  deadline=$(( $(date +%s) + limit ))
  until "$@" > /dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# await "what" seconds command...: as poll; the script fails after the deadline.
await() {
  local what="$1" limit="$2"
  shift 2
  poll "$limit" "$@" || fail "$what (not within ${limit} s)"
}

# wait_for "what" seconds command...: as await, and says so when it holds.
wait_for() {
  await "$@"
  ok "$1"
}

# States, for poll and await.
instance_is() { [ "$(q ec2 describe-instances --instance-ids "$1" --query 'Reservations[0].Instances[0].State.Name')" = "$2" ]; }
all_terminated() { [ -z "$(q ec2 describe-instances --instance-ids "$@" --query "Reservations[].Instances[?State.Name!='terminated'].InstanceId")" ]; }
image_is() { [ "$(q ec2 describe-images --image-ids "$1" --query 'Images[0].State')" = "$2" ]; }
volume_is() { [ "$(q ec2 describe-volumes --volume-ids "$1" --query 'Volumes[0].State')" = "$2" ]; }
snapshot_is() { [ "$(q ec2 describe-snapshots --snapshot-ids "$1" --query 'Snapshots[0].State')" = "$2" ]; }

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
