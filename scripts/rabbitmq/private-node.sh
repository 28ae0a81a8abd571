#!/usr/bin/env bash
# A private, single RabbitMQ node for tests that crash a broker (test/rabbitmq/node-failure.test.ts).
# It runs beside the machine's shared RabbitMQ (rabbit@localhost, port 5672), which it never
# touches: its own node name, ports, data directory, config, Erlang cookie (HOME) and logs. Uses
# the installed RabbitMQ (Debian: /usr/lib/rabbitmq/bin), started as the calling user.
#
#   private-node.sh start    boot the node (or reuse it when it is already up), wait until it serves AMQP
#   private-node.sh stop     clean shutdown (rabbitmqctl stop), SIGTERM/SIGKILL as a last resort
#   private-node.sh kill     SIGKILL the node's Erlang VM, like a crash; a later `start` brings it
#                            back on the same data directory (quorum queue data survives)
#   private-node.sh status   exit 0 iff the node answers AMQP on its port
#   private-node.sh url      print the AMQP URL (amqp://guest:guest@127.0.0.1:<port>)
#   private-node.sh pid      print the pid of the node's Erlang VM (exit 1 when not running)
#   private-node.sh logs     print the tail of the node's log
#   private-node.sh clean    stop, then delete the node's directory (all its data)
#   private-node.sh installed  print where rabbitmq-server is; exit 3 when it is not installed
#
# Environment:
#   EVENTFORM_RABBITMQ_PRIVATE_PORT       AMQP port (default 5679), bound to 127.0.0.1 only
#   EVENTFORM_RABBITMQ_PRIVATE_DIST_PORT  Erlang distribution port (default: AMQP port + 20000)
#   EVENTFORM_RABBITMQ_PRIVATE_NODENAME   node name (default efprivate@localhost; efprivate-<port>@localhost
#                                         when the port is not the default)
#   EVENTFORM_RABBITMQ_PRIVATE_DIR        data, logs, config, cookie, pid (default
#                                         ${TMPDIR:-/tmp}/eventform-rabbitmq-private, plus -<port> when
#                                         the port is not the default)
#   EVENTFORM_RABBITMQ_PRIVATE_START_TIMEOUT / _STOP_TIMEOUT   seconds (default 90 / 60)
#   EVENTFORM_RABBITMQ_SBIN               directory holding rabbitmq-server and rabbitmqctl (default
#                                         /usr/lib/rabbitmq/bin, else the real scripts behind PATH's)
#
# Exit codes: 0 ok, 1 failure, 2 usage, 3 RabbitMQ is not installed.
set -Eeuo pipefail

DEFAULT_PORT=5679
PORT=${EVENTFORM_RABBITMQ_PRIVATE_PORT:-$DEFAULT_PORT}
if ! [[ $PORT =~ ^[0-9]{1,5}$ ]] || ((PORT < 1 || PORT > 45535)); then
  # The distribution port defaults to PORT + 20000, which must be a port too.
  echo "private-node.sh: EVENTFORM_RABBITMQ_PRIVATE_PORT must be a port number from 1 to 45535, not '$PORT'" >&2
  exit 2
fi
if [ "$PORT" = "$DEFAULT_PORT" ]; then SUFFIX=""; else SUFFIX="-$PORT"; fi
DIST_PORT=${EVENTFORM_RABBITMQ_PRIVATE_DIST_PORT:-$((PORT + 20000))}
NODENAME=${EVENTFORM_RABBITMQ_PRIVATE_NODENAME:-efprivate$SUFFIX@localhost}
NODE_DIR_RAW=${EVENTFORM_RABBITMQ_PRIVATE_DIR:-${TMPDIR:-/tmp}/eventform-rabbitmq-private$SUFFIX}
# Absolute, so the node and rabbitmqctl agree on it whatever the caller's working directory.
case "$NODE_DIR_RAW" in
  /*) NODE_DIR=$NODE_DIR_RAW ;;
  *) NODE_DIR="$PWD/$NODE_DIR_RAW" ;;
esac
HOST=127.0.0.1
# Shown in the AMQP connection.start frame: proves that what answers on the port is this node.
CLUSTER_NAME="eventform-private-$PORT"
START_TIMEOUT=${EVENTFORM_RABBITMQ_PRIVATE_START_TIMEOUT:-90}
STOP_TIMEOUT=${EVENTFORM_RABBITMQ_PRIVATE_STOP_TIMEOUT:-60}

MNESIA_BASE="$NODE_DIR/mnesia"
LOG_DIR="$NODE_DIR/log"
PID_FILE="$NODE_DIR/node.pid"
LOG_FILE="$LOG_DIR/$NODENAME.log"
CONSOLE_LOG="$LOG_DIR/console.log"

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT_NAME=private-node.sh
LOG_TAIL=40
LOG_FILES=("$LOG_FILE" "$CONSOLE_LOG")
# shellcheck source-path=SCRIPTDIR source=../lib/service.sh
. "$SCRIPT_DIR/../lib/service.sh"

# ---------------------------------------------------------------- installation

# The real scripts, not Debian's /usr/sbin wrappers (those cd to /var/lib/rabbitmq and switch to
# the rabbitmq user, i.e. the shared broker's home and cookie).
find_sbin() {
  local dir candidate
  if [ -n "${EVENTFORM_RABBITMQ_SBIN:-}" ]; then
    # Set on purpose: that one or none.
    dir=$EVENTFORM_RABBITMQ_SBIN
    [ -x "$dir/rabbitmq-server" ] && [ -x "$dir/rabbitmqctl" ] && { echo "$dir"; return 0; }
    return 1
  fi
  dir=/usr/lib/rabbitmq/bin
  [ -x "$dir/rabbitmq-server" ] && [ -x "$dir/rabbitmqctl" ] && { echo "$dir"; return 0; }
  if candidate=$(command -v rabbitmq-server 2>/dev/null); then
    candidate=$(readlink -f "$candidate")
    dir=$(dirname "$candidate")
    if [ "$(basename "$candidate")" = rabbitmq-server ] && [ -x "$dir/rabbitmqctl" ]; then
      echo "$dir"
      return 0
    fi
  fi
  return 1
}

require_sbin() {
  if SBIN=$(find_sbin); then return 0; fi
  trap - ERR
  if [ -n "${EVENTFORM_RABBITMQ_SBIN:-}" ]; then
    log "ERROR: RabbitMQ is not installed: EVENTFORM_RABBITMQ_SBIN=$EVENTFORM_RABBITMQ_SBIN holds no executable rabbitmq-server and rabbitmqctl"
  else
    log "ERROR: RabbitMQ is not installed: no rabbitmq-server in /usr/lib/rabbitmq/bin or on PATH"
    log "       (Debian: apt-get install rabbitmq-server; elsewhere set EVENTFORM_RABBITMQ_SBIN to the directory holding rabbitmq-server and rabbitmqctl)"
  fi
  exit 3
}

# Run one of RabbitMQ's scripts for this node only: every RABBITMQ_* / ERL_* variable of the
# caller is dropped, /etc/rabbitmq/rabbitmq-env.conf and rabbitmq.conf are replaced by ours, and
# HOME is the node's directory (its own Erlang cookie: the CLI cannot even reach the shared node).
rmq() { # script args...
  local script=$1
  shift
  local -a unset_args=()
  local name
  while IFS= read -r name; do
    case "$name" in RABBITMQ_* | ERL_*) unset_args+=(-u "$name") ;; esac
  done < <(compgen -e)
  env ${unset_args[@]+"${unset_args[@]}"} \
    HOME="$NODE_DIR" \
    RABBITMQ_CONF_ENV_FILE="$NODE_DIR/rabbitmq-env.conf" \
    RABBITMQ_CONFIG_FILE="$NODE_DIR/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$NODE_DIR/advanced.config" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$NODE_DIR/enabled_plugins" \
    RABBITMQ_NODENAME="$NODENAME" \
    RABBITMQ_NODE_IP_ADDRESS="$HOST" \
    RABBITMQ_NODE_PORT="$PORT" \
    RABBITMQ_DIST_PORT="$DIST_PORT" \
    RABBITMQ_MNESIA_BASE="$MNESIA_BASE" \
    RABBITMQ_LOG_BASE="$LOG_DIR" \
    RABBITMQ_PID_FILE="$PID_FILE" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    ERL_EPMD_ADDRESS="$HOST" \
    ERL_CRASH_DUMP="$LOG_DIR/erl_crash.dump" \
    "$SBIN/$script" "$@"
}

write_config() {
  mkdir -p "$MNESIA_BASE" "$LOG_DIR"
  cat >"$NODE_DIR/rabbitmq-env.conf" <<'EOF'
# Generated by scripts/rabbitmq/private-node.sh: stands in for /etc/rabbitmq/rabbitmq-env.conf
# (which names the shared node); everything is passed as environment variables instead.
EOF
  cat >"$NODE_DIR/rabbitmq.conf" <<EOF
# Generated by scripts/rabbitmq/private-node.sh -- overwritten on every start.
listeners.tcp.1 = $HOST:$PORT
cluster_name = $CLUSTER_NAME
log.file.level = info
log.console = false
EOF
  # No plugins: the management plugin would want port 15672, which the shared node may hold.
  echo '[].' >"$NODE_DIR/enabled_plugins"
}

# ---------------------------------------------------------------- probes

# AMQP 0-9-1 handshake: send the protocol header and read the broker's connection.start, which
# carries the cluster name among its server properties. Succeeds only if this node answers (a
# TCP connect alone proves nothing: the port could be someone else's).
amqp_start_frame() {
  # shellcheck disable=SC2016 # the inner bash expands $0/$1, not this one
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "AMQP\x00\x00\x09\x01" >&3
    timeout 3 dd bs=4096 count=1 status=none <&3' "$HOST" "$PORT" 2>/dev/null | tr -c '[:print:]' '.'
}

amqp_answers() {
  local _
  for _ in 1 2 3; do
    amqp_start_frame | grep -qF "$CLUSTER_NAME" && return 0
    sleep 0.2
  done
  return 1
}

# ---------------------------------------------------------------- process

# The pid of this node's Erlang VM, if it is alive. The pid file is the node's own
# (RABBITMQ_PID_FILE); the cmdline check (beam with `-home <our dir>`) guards against pid reuse
# and makes sure no other node, the shared one included, is ever signalled.
our_pid() {
  local pid
  [ -f "$PID_FILE" ] || return 1
  pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  [[ $(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1) =~ (^|/)beam(\.smp)?$ ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- " -home $NODE_DIR " || return 1
  echo "$pid"
}

# Is the Erlang node name registered with epmd (by a VM that is not ours)?
name_registered() {
  local short=${NODENAME%@*}
  command -v epmd >/dev/null || return 1
  ERL_EPMD_ADDRESS=$HOST epmd -names 2>/dev/null | grep -q "^name $short at port "
}

# Ready = this run logged "Server startup complete" (the log survives restarts, so only look
# past byte $1) and the node answers an AMQP handshake with its cluster name.
wait_ready() { # log-offset
  local pid="" deadline=$((SECONDS + START_TIMEOUT)) launched=$SECONDS
  while ((SECONDS < deadline)); do
    if pid=$(our_pid); then
      if tail -c +"$(($1 + 1))" "$LOG_FILE" 2>/dev/null | grep -q 'Server startup complete' && amqp_answers; then
        return 0
      fi
    elif [ -s "$PID_FILE" ] || ((SECONDS - launched > 30)); then
      # The VM wrote its pid file and is gone, or never got that far.
      die "the node's Erlang VM exited during startup (see the logs below; '$0 clean' wipes its data)"
    fi
    sleep 0.5
  done
  log "node not ready within ${START_TIMEOUT}s; stopping it"
  show_logs
  trap - ERR
  if pid=$(our_pid); then
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || true
  fi
  log "ERROR: the private RabbitMQ node did not start within ${START_TIMEOUT}s" \
    "(raise EVENTFORM_RABBITMQ_PRIVATE_START_TIMEOUT if the machine is just slow)"
  exit 1
}

# ---------------------------------------------------------------- commands

cmd_start() {
  require_sbin
  take_lock "$NODE_DIR" .private-node.lock
  local pid
  if pid=$(our_pid); then
    if amqp_answers; then
      log "node $NODENAME already up (pid $pid) on $HOST:$PORT; reusing it"
      cmd_url
      return 0
    fi
    # Ours but silent: maybe still booting (an interrupted `start`), maybe on another port.
    # Never kill it behind the caller's back.
    grep -qxF "listeners.tcp.1 = $HOST:$PORT" "$NODE_DIR/rabbitmq.conf" ||
      die "node $NODENAME (pid $pid) runs with another port ($(grep '^listeners' "$NODE_DIR/rabbitmq.conf")); run '$0 stop' first"
    log "node $NODENAME (pid $pid) is running but not answering yet; waiting for it"
    wait_ready 0
    cmd_url
    return 0
  fi
  rm -f "$PID_FILE" # stale after a kill -9 / reboot
  local p
  for p in "$PORT" "$DIST_PORT"; do
    if tcp_open "$HOST" "$p"; then
      die "port $HOST:$p is taken by something that is not this node" \
        "(another private node with another EVENTFORM_RABBITMQ_PRIVATE_DIR? set EVENTFORM_RABBITMQ_PRIVATE_PORT)"
    fi
  done
  if name_registered; then
    die "Erlang node name $NODENAME is in use by another VM (set EVENTFORM_RABBITMQ_PRIVATE_NODENAME)"
  fi

  write_config
  local offset
  offset=$(stat -c %s "$LOG_FILE" 2>/dev/null || echo 0)
  [ ! -e "$CONSOLE_LOG" ] || mv -f "$CONSOLE_LOG" "$CONSOLE_LOG.1"
  log "starting RabbitMQ node $NODENAME on $HOST:$PORT (data and logs: $NODE_DIR) ..."
  # -detached: the VM daemonises and outlives this script and its caller. Run from the node's
  # directory (the VM's working directory); 9>&- keeps the lock fd out of the VM.
  (cd "$NODE_DIR" && rmq rabbitmq-server -detached) </dev/null >>"$CONSOLE_LOG" 2>&1 9>&- ||
    die "rabbitmq-server -detached failed"
  wait_ready "$offset"
  log "node $NODENAME is up (pid $(our_pid))"
  cmd_url
}

cmd_stop() {
  take_lock "$NODE_DIR" .private-node.lock
  local pid
  if ! pid=$(our_pid); then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  log "stopping node $NODENAME (pid $pid) ..."
  if SBIN=$(find_sbin) &&
    rmq rabbitmqctl -n "$NODENAME" --timeout "$STOP_TIMEOUT" stop "$PID_FILE" >/dev/null 2>&1 &&
    wait_gone "$pid" 10; then
    :
  else
    log "rabbitmqctl stop did not stop it; sending SIGTERM"
    terminate "$pid" 30
  fi
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_kill() {
  take_lock "$NODE_DIR" .private-node.lock
  local pid
  if pid=$(our_pid); then
    kill_hard "$pid"
    log "killed pid $pid with SIGKILL (pid file left behind on purpose, like a crash)"
  else
    log "not running"
  fi
}

cmd_status() {
  local pid
  if pid=$(our_pid); then log "node $NODENAME running (pid $pid)"; fi
  if amqp_answers; then
    log "node $NODENAME answers AMQP on $HOST:$PORT"
    return 0
  fi
  log "node $NODENAME does not answer on $HOST:$PORT"
  exit 1 # exit, not return: a failing function would trip the ERR trap
}

cmd_url() { echo "amqp://guest:guest@$HOST:$PORT"; }

cmd_clean() {
  cmd_stop
  case "$NODE_DIR" in
    / | "$HOME" | "") die "refusing to delete $NODE_DIR" ;;
  esac
  rm -rf "$NODE_DIR"
  log "deleted $NODE_DIR"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  kill) cmd_kill ;;
  status) cmd_status ;;
  url) cmd_url ;;
  pid) our_pid || { log "not running"; exit 1; } ;;
  logs) show_logs ;;
  clean) cmd_clean ;;
  installed)
    require_sbin
    echo "$SBIN"
    ;;
  *)
    echo "usage: $0 {start|stop|kill|status|url|pid|logs|clean|installed}" >&2
    exit 2
    ;;
esac
