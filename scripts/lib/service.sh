# shellcheck shell=bash
# Shared by the scripts that run a local broker for tests (scripts/kafka/kafka.sh,
# scripts/rabbitmq/private-node.sh). Source it after setting:
#   SCRIPT_NAME   prefix of every message (e.g. kafka.sh)
#   LOG_TAIL      how many lines of each log `show_logs` prints
#   LOG_FILES     array of the logs `show_logs` prints (those that exist and are not empty)
# It defines log, show_logs, die (with an ERR trap that calls it), tcp_open, alive, wait_gone,
# kill_hard, terminate and take_lock.

log() { echo "$SCRIPT_NAME: $*" >&2; }

show_logs() {
  local f
  for f in "${LOG_FILES[@]}"; do
    if [ -s "$f" ]; then
      echo "---- last $LOG_TAIL lines of $f ----" >&2
      tail -n "$LOG_TAIL" "$f" >&2
    fi
  done
}

die() {
  trap - ERR
  log "ERROR: $*"
  show_logs
  exit 1
}
trap 'die "unexpected failure (line $LINENO)"' ERR

# shellcheck disable=SC2016 # the inner bash expands $0/$1, not this one
tcp_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; }

alive() { # pid -- zombies (empty cmdline) count as gone; /proc files have size 0, so no `test -s`
  kill -0 "$1" 2>/dev/null && [ -n "$(tr -d '\0' 2>/dev/null <"/proc/$1/cmdline")" ]
}

wait_gone() { # pid seconds
  local deadline=$((SECONDS + $2))
  while alive "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

kill_hard() { # pid -- SIGKILL, and wait until it is gone
  kill -KILL "$1" 2>/dev/null || true
  wait_gone "$1" 10 || die "pid $1 survived SIGKILL"
}

terminate() { # pid seconds -- SIGTERM; SIGKILL when it is still there after `seconds`
  kill -TERM "$1" 2>/dev/null || true
  if ! wait_gone "$1" "$2"; then
    log "pid $1 still running ${2}s after SIGTERM; sending SIGKILL"
    kill_hard "$1"
  fi
}

# Serialise start/stop/kill: a second caller (parallel test files) waits instead of racing.
take_lock() { # directory lock-file-name
  mkdir -p "$1"
  exec 9>"$1/$2"
  flock -w 300 9 || die "could not take $1/$2 within 300s"
}
