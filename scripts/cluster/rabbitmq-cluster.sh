#!/usr/bin/env bash
# A private three-node RabbitMQ cluster on loopback, for the cluster tests (test/cluster/) and for
# trying failover by hand. It runs beside the machine's shared RabbitMQ (rabbit@<host>, port 5672),
# which it never touches: its own node names (ef1@localhost ..), ports, data folders, config,
# enabled-plugins file and Erlang cookie (one cookie for the three, in the cluster's own HOME).
# Uses the installed RabbitMQ (Debian: /usr/lib/rabbitmq/bin), started as the calling user.
#
#   rabbitmq-cluster.sh start [n]     start every node (or node n); the first start forms the cluster
#   rabbitmq-cluster.sh stop [n]      clean shutdown of every node (or node n)
#   rabbitmq-cluster.sh kill <n>      SIGKILL node n's Erlang VM, like a crash
#   rabbitmq-cluster.sh restart <n>   stop node n, start it again, wait until it is back in the cluster
#   rabbitmq-cluster.sh status [n]    one line per node; exit 0 iff every node asked for answers AMQP
#   rabbitmq-cluster.sh urls          the AMQP URLs, comma-separated
#   rabbitmq-cluster.sh pid <n>       the pid of node n's Erlang VM
#   rabbitmq-cluster.sh logs [n]      the tail of the logs
#   rabbitmq-cluster.sh clean         stop every node, delete the cluster's folder
#
# Ports of node n (1..3): AMQP 5690+n, management (HTTP) 15690+n, Erlang distribution 25690+n; set
# EVENTFORM_RABBITMQ_CLUSTER_PORT to move the base (5690). Folder: EVENTFORM_RABBITMQ_CLUSTER_DIR
# (default ${TMPDIR:-/tmp}/eventform-rabbitmq-cluster). Timeouts: EVENTFORM_RABBITMQ_CLUSTER_START_TIMEOUT
# / _STOP_TIMEOUT in seconds (default 120 / 60). Exit codes: 0 ok, 1 failure, 2 usage, 3 not installed.
set -Eeuo pipefail

NODES=(1 2 3)
BASE_PORT=${EVENTFORM_RABBITMQ_CLUSTER_PORT:-5690}
if ! [[ $BASE_PORT =~ ^[0-9]{1,5}$ ]] || ((BASE_PORT < 1 || BASE_PORT > 45000)); then
  echo "rabbitmq-cluster.sh: EVENTFORM_RABBITMQ_CLUSTER_PORT must be a port from 1 to 45000, not '$BASE_PORT'" >&2
  exit 2
fi
DIR_RAW=${EVENTFORM_RABBITMQ_CLUSTER_DIR:-${TMPDIR:-/tmp}/eventform-rabbitmq-cluster}
case "$DIR_RAW" in
  /*) CLUSTER_DIR=$DIR_RAW ;;
  *) CLUSTER_DIR="$PWD/$DIR_RAW" ;;
esac
HOST=127.0.0.1
CLUSTER_NAME="eventform-cluster-$BASE_PORT"
START_TIMEOUT=${EVENTFORM_RABBITMQ_CLUSTER_START_TIMEOUT:-120}
STOP_TIMEOUT=${EVENTFORM_RABBITMQ_CLUSTER_STOP_TIMEOUT:-60}
PLUGINS='[rabbitmq_management,rabbitmq_consistent_hash_exchange].'

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT_NAME=rabbitmq-cluster.sh
LOG_TAIL=30
LOG_FILES=()
# shellcheck source-path=SCRIPTDIR source=../lib/service.sh
. "$SCRIPT_DIR/../lib/service.sh"

# ---------------------------------------------------------------- per node

# Sets the globals of node $1: N NODENAME PORT MGMT_PORT DIST_PORT NODE_DIR PID_FILE LOG_FILE.
node_vars() {
  [[ $1 =~ ^[1-3]$ ]] || { echo "$SCRIPT_NAME: node must be 1, 2 or 3, not '$1'" >&2; exit 2; }
  N=$1
  NODENAME="ef$N-$BASE_PORT@localhost"
  [ "$BASE_PORT" != 5690 ] || NODENAME="ef$N@localhost"
  PORT=$((BASE_PORT + N))
  MGMT_PORT=$((BASE_PORT + 10000 + N))
  DIST_PORT=$((BASE_PORT + 20000 + N))
  NODE_DIR="$CLUSTER_DIR/ef$N"
  PID_FILE="$NODE_DIR/node.pid"
  LOG_FILE="$NODE_DIR/log/$NODENAME.log"
  LOG_FILES=("$LOG_FILE" "$NODE_DIR/log/console.log")
}

# The real scripts, not Debian's /usr/sbin wrappers (those switch to the rabbitmq user and the
# shared node's home and cookie).
find_sbin() {
  local dir=${EVENTFORM_RABBITMQ_SBIN:-/usr/lib/rabbitmq/bin} candidate
  [ -x "$dir/rabbitmq-server" ] && [ -x "$dir/rabbitmqctl" ] && { echo "$dir"; return 0; }
  [ -z "${EVENTFORM_RABBITMQ_SBIN:-}" ] || return 1
  candidate=$(command -v rabbitmq-server 2>/dev/null) || return 1
  candidate=$(readlink -f "$candidate")
  dir=$(dirname "$candidate")
  [ -x "$dir/rabbitmqctl" ] && [ "$(basename "$candidate")" = rabbitmq-server ] && echo "$dir"
}

require_sbin() {
  if SBIN=$(find_sbin); then return 0; fi
  trap - ERR
  log "ERROR: RabbitMQ is not installed: no rabbitmq-server in /usr/lib/rabbitmq/bin or on PATH (or EVENTFORM_RABBITMQ_SBIN)"
  exit 3
}

# Run one of RabbitMQ's scripts for the current node only: the caller's RABBITMQ_* / ERL_* variables
# are dropped, the config files are ours, and HOME is the cluster's folder (its Erlang cookie).
rmq() { # script args...
  local script=$1 name
  shift
  local -a unset_args=()
  while IFS= read -r name; do
    case "$name" in RABBITMQ_* | ERL_*) unset_args+=(-u "$name") ;; esac
  done < <(compgen -e)
  env ${unset_args[@]+"${unset_args[@]}"} \
    HOME="$CLUSTER_DIR" \
    RABBITMQ_CONF_ENV_FILE="$NODE_DIR/rabbitmq-env.conf" \
    RABBITMQ_CONFIG_FILE="$NODE_DIR/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$NODE_DIR/advanced.config" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$NODE_DIR/enabled_plugins" \
    RABBITMQ_NODENAME="$NODENAME" \
    RABBITMQ_NODE_IP_ADDRESS="$HOST" \
    RABBITMQ_NODE_PORT="$PORT" \
    RABBITMQ_DIST_PORT="$DIST_PORT" \
    RABBITMQ_MNESIA_BASE="$NODE_DIR/mnesia" \
    RABBITMQ_LOG_BASE="$NODE_DIR/log" \
    RABBITMQ_PID_FILE="$PID_FILE" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    ERL_EPMD_ADDRESS="$HOST" \
    ERL_CRASH_DUMP="$NODE_DIR/log/erl_crash.dump" \
    "$SBIN/$script" "$@"
}

write_cookie() {
  mkdir -p "$CLUSTER_DIR"
  if [ ! -s "$CLUSTER_DIR/.erlang.cookie" ]; then
    (umask 077 && head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$CLUSTER_DIR/.erlang.cookie")
  fi
  chmod 400 "$CLUSTER_DIR/.erlang.cookie"
}

write_config() {
  mkdir -p "$NODE_DIR/mnesia" "$NODE_DIR/log"
  echo "# Generated by scripts/cluster/rabbitmq-cluster.sh: stands in for /etc/rabbitmq/rabbitmq-env.conf." \
    >"$NODE_DIR/rabbitmq-env.conf"
  local peers="" n
  for n in "${NODES[@]}"; do
    if [ "$BASE_PORT" = 5690 ]; then peers+="cluster_formation.classic_config.nodes.$n = ef$n@localhost"$'\n'; else
      peers+="cluster_formation.classic_config.nodes.$n = ef$n-$BASE_PORT@localhost"$'\n'
    fi
  done
  cat >"$NODE_DIR/rabbitmq.conf" <<EOF
# Generated by scripts/cluster/rabbitmq-cluster.sh -- overwritten on every start.
listeners.tcp.1 = $HOST:$PORT
management.tcp.ip = $HOST
management.tcp.port = $MGMT_PORT
cluster_name = $CLUSTER_NAME
log.file.level = info
log.console = false
# A node that starts with an empty data folder joins the others (the first one forms the cluster).
cluster_formation.peer_discovery_backend = classic_config
$peers
# Small machine: keep the quorum queues' write-ahead log modest.
raft.wal_max_size_bytes = 16777216
vm_memory_high_watermark.absolute = 512MiB
EOF
  echo "[]." >"$NODE_DIR/advanced.config"
  echo "$PLUGINS" >"$NODE_DIR/enabled_plugins"
}

# AMQP 0-9-1 handshake: connection.start carries cluster_name, so only this cluster's node counts.
amqp_answers() {
  local _ out
  for _ in 1 2 3; do
    # shellcheck disable=SC2016 # the inner bash expands $0/$1
    out=$(timeout 5 bash -c '
      exec 3<>"/dev/tcp/$0/$1" || exit 1
      printf "AMQP\x00\x00\x09\x01" >&3
      timeout 3 dd bs=4096 count=1 status=none <&3' "$HOST" "$PORT" 2>/dev/null | tr -c '[:print:]' '.') || true
    [[ $out == *"$CLUSTER_NAME"* ]] && return 0
    sleep 0.2
  done
  return 1
}

# The pid of the current node's Erlang VM if alive (a beam whose -home is the cluster folder and
# whose working folder is the node's), so no other node, the shared one included, is ever signalled.
our_pid() {
  local pid cmd
  [ -f "$PID_FILE" ] || return 1
  pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  # Each VM runs in its node's folder (start_node cds there): that tells the three apart.
  [[ $cmd == *" -home $CLUSTER_DIR "* && $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$NODE_DIR" ]] || return 1
  echo "$pid"
}

wait_ready() { # log-offset
  local pid deadline=$((SECONDS + START_TIMEOUT)) launched=$SECONDS
  while ((SECONDS < deadline)); do
    if pid=$(our_pid); then
      if tail -c +"$(($1 + 1))" "$LOG_FILE" 2>/dev/null | grep -q 'Server startup complete' && amqp_answers; then
        return 0
      fi
    elif [ -s "$PID_FILE" ] || ((SECONDS - launched > 40)); then
      die "node $NODENAME exited during startup ('$0 clean' wipes the cluster's data)"
    fi
    sleep 0.5
  done
  show_logs
  die "node $NODENAME not ready within ${START_TIMEOUT}s (raise EVENTFORM_RABBITMQ_CLUSTER_START_TIMEOUT on a slow machine)"
}

start_node() {
  local pid offset p
  if pid=$(our_pid); then
    log "node $NODENAME already running (pid $pid); waiting until it answers"
    wait_ready 0
    return 0
  fi
  rm -f "$PID_FILE"
  for p in "$PORT" "$MGMT_PORT" "$DIST_PORT"; do
    if tcp_open "$HOST" "$p"; then die "port $HOST:$p is taken by something that is not node $NODENAME"; fi
  done
  write_config
  offset=$(stat -c %s "$LOG_FILE" 2>/dev/null || echo 0)
  [ ! -e "$NODE_DIR/log/console.log" ] || mv -f "$NODE_DIR/log/console.log" "$NODE_DIR/log/console.log.1"
  log "starting $NODENAME (AMQP $HOST:$PORT, management $MGMT_PORT) ..."
  (cd "$NODE_DIR" && rmq rabbitmq-server -detached) </dev/null >>"$NODE_DIR/log/console.log" 2>&1 9>&- ||
    die "rabbitmq-server -detached failed for $NODENAME"
  wait_ready "$offset"
  log "$NODENAME is up (pid $(our_pid))"
}

stop_node() {
  local pid
  if ! pid=$(our_pid); then
    rm -f "$PID_FILE"
    log "$NODENAME not running"
    return 0
  fi
  log "stopping $NODENAME (pid $pid) ..."
  if rmq rabbitmqctl -n "$NODENAME" --timeout "$STOP_TIMEOUT" stop "$PID_FILE" >/dev/null 2>&1 && wait_gone "$pid" 10; then
    :
  else
    log "rabbitmqctl stop did not stop $NODENAME; sending SIGTERM"
    terminate "$pid" 30
  fi
  rm -f "$PID_FILE"
}

kill_node() {
  local pid
  if pid=$(our_pid); then
    kill_hard "$pid"
    log "killed $NODENAME (pid $pid) with SIGKILL"
  else
    log "$NODENAME not running"
  fi
}

# Waits for the background start_node jobs; fails when any failed.
wait_all_started() {
  local job failed=0
  for job in $(jobs -p); do wait "$job" || failed=1; done
  ((failed == 0)) || die "a node did not start"
}

# ---------------------------------------------------------------- commands

selected() { if [ -n "${1:-}" ]; then echo "$1"; else echo "${NODES[@]}"; fi; }

cmd_start() {
  require_sbin
  take_lock "$CLUSTER_DIR" .cluster.lock
  write_cookie
  local n fresh=0
  for n in $(selected "${1:-}"); do
    node_vars "$n"
    [ -n "$(ls -A "$NODE_DIR/mnesia" 2>/dev/null)" ] || fresh=1
  done
  if ((fresh)); then
    # One after another: a fresh node joins the nodes already up (classic peer discovery).
    for n in $(selected "${1:-}"); do
      node_vars "$n"
      start_node
    done
  else
    # A cluster that was stopped as a whole: each node waits at boot for the peers it last saw
    # (the last one stopped first), so they must all boot at the same time.
    for n in $(selected "${1:-}"); do
      node_vars "$n"
      start_node &
    done
    wait_all_started
  fi
  cmd_urls
}

cmd_stop() {
  require_sbin
  take_lock "$CLUSTER_DIR" .cluster.lock
  local n
  for n in $(selected "${1:-}"); do
    node_vars "$n"
    stop_node
  done
}

cmd_kill() {
  [ -n "${1:-}" ] || { echo "usage: $0 kill <1|2|3>" >&2; exit 2; }
  take_lock "$CLUSTER_DIR" .cluster.lock
  node_vars "$1"
  kill_node
}

cmd_restart() {
  [ -n "${1:-}" ] || { echo "usage: $0 restart <1|2|3>" >&2; exit 2; }
  require_sbin
  take_lock "$CLUSTER_DIR" .cluster.lock
  node_vars "$1"
  stop_node
  start_node
}

cmd_status() {
  local n bad=0 pid
  for n in $(selected "${1:-}"); do
    node_vars "$n"
    if amqp_answers; then
      echo "$NODENAME up ${HOST}:$PORT pid $(our_pid || echo '?')"
    elif pid=$(our_pid); then
      echo "$NODENAME starting (pid $pid, not answering on $PORT)"
      bad=1
    else
      echo "$NODENAME down"
      bad=1
    fi
  done
  exit "$bad"
}

cmd_urls() {
  local n out=()
  for n in "${NODES[@]}"; do out+=("amqp://guest:guest@$HOST:$((BASE_PORT + n))"); done
  (IFS=,; echo "${out[*]}")
}

cmd_clean() {
  cmd_stop
  case "$CLUSTER_DIR" in / | "$HOME" | "") die "refusing to delete $CLUSTER_DIR" ;; esac
  rm -rf "$CLUSTER_DIR"
  log "deleted $CLUSTER_DIR"
}

case "${1:-}" in
  start) cmd_start "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  kill) cmd_kill "${2:-}" ;;
  restart) cmd_restart "${2:-}" ;;
  status) cmd_status "${2:-}" ;;
  urls) cmd_urls ;;
  pid)
    node_vars "${2:-}"
    our_pid || { log "$NODENAME not running"; exit 1; }
    ;;
  logs)
    for n in $(selected "${2:-}"); do node_vars "$n" && show_logs; done
    ;;
  clean) cmd_clean ;;
  *)
    echo "usage: $0 {start [n]|stop [n]|kill <n>|restart <n>|status [n]|urls|pid <n>|logs [n]|clean}" >&2
    exit 2
    ;;
esac
