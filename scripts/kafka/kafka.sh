#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, no ZooKeeper, no Docker) for eventform
# development and tests. Jars come from Maven Central via scripts/kafka/pom.xml;
# everything else (config, data, logs, pid) lives in a cache dir outside the repo.
#
#   kafka.sh start     fetch jars once, format storage once, boot, wait until ready
#   kafka.sh stop      SIGTERM, wait, SIGKILL as a last resort
#   kafka.sh kill      SIGKILL (fault tests); a later `start` reuses the same data
#   kafka.sh restart   stop + start
#   kafka.sh status    exit 0 iff a broker answers on the port
#   kafka.sh env       print KAFKA_BROKERS=...
#   kafka.sh pid|logs  print the broker pid / the tail of its log
#   kafka.sh jars      fetch the jars once; print the folder holding them
#
# See README.md beside this file for the environment variables.
set -Eeuo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
POM="$SCRIPT_DIR/pom.xml"

KAFKA_DIR=${EVENTFORM_KAFKA_DIR:-${EVENTFORM_CACHE:-$HOME/.cache/eventform}/kafka}
LIB_DIR="$KAFKA_DIR/lib"
DATA_DIR="$KAFKA_DIR/data"
LOG_DIR="$KAFKA_DIR/logs"
CONF_DIR="$KAFKA_DIR/config"
PID_FILE="$KAFKA_DIR/kafka.pid"
CLUSTER_ID_FILE="$KAFKA_DIR/cluster.id"
STAMP_NAME=".pom.sha256"            # inside lib/: the hash of the pom the jars came from

HOST=127.0.0.1
PORT=${KAFKA_PORT:-19092}           # non-default ports: never clash with a "real" Kafka
CTRL_PORT=${KAFKA_CONTROLLER_PORT:-19093}
BROKERS="$HOST:$PORT"
START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}
# Small heap: the machines this runs on have 2 cores and share them with the tests.
read -r -a HEAP_OPTS <<<"${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
read -r -a EXTRA_JVM_OPTS <<<"${KAFKA_JVM_OPTS:-}"

SCRIPT_NAME=kafka.sh
LOG_TAIL=50
LOG_FILES=("$LOG_DIR/server.log" "$LOG_DIR/console.log")
# shellcheck source-path=SCRIPTDIR source=../lib/service.sh
. "$SCRIPT_DIR/../lib/service.sh"

# ---------------------------------------------------------------- probes

# A TCP connect alone proves nothing (the socket is bound long before the broker
# serves requests, and the port could be someone else's), so the probes below do
# real Kafka round-trips.

# Raw ApiVersions v0 request (api_key 18, correlation id 7, null client id) over
# /dev/tcp; a Kafka broker that processes requests answers with correlation id 7
# and error code 0. Cheap, and needs nothing but bash.
api_versions_probe() {
  local hex
  # shellcheck disable=SC2016
  hex=$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x07\xff\xff" >&3
    head -c 10 <&3 | od -An -tx1 | tr -d " \n"' "$1" "$2" 2>/dev/null) || return 1
  [[ $hex =~ ^[0-9a-f]{8}000000070000$ ]]
}

have_kafkajs() { command -v node >/dev/null && [ -f "$REPO_ROOT/node_modules/kafkajs/package.json" ]; }

# With the project's kafkajs: the broker must list itself as a live broker
# (i.e. it is registered and unfenced) and serve metadata.
KAFKAJS_PROBE='
const [kafkajsPath, broker] = process.argv.slice(1);
const { Kafka, logLevel } = require(kafkajsPath);
const kafka = new Kafka({ clientId: "eventform-kafka-sh", brokers: [broker], logLevel: logLevel.NOTHING,
  connectionTimeout: 2000, requestTimeout: 5000, retry: { retries: 0 } });
const admin = kafka.admin();
setTimeout(() => process.exit(3), 10000).unref();
(async () => {
  await admin.connect();
  const { brokers } = await admin.describeCluster();
  if (!brokers.length) throw new Error("no live broker yet");
  await admin.listTopics();
  await admin.disconnect();
})().then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });
'
kafkajs_probe() {
  KAFKAJS_NO_PARTITIONER_WARNING=1 timeout 15 \
    node -e "$KAFKAJS_PROBE" "$REPO_ROOT/node_modules/kafkajs" "$1:$2" >/dev/null 2>&1
}

# Does a Kafka broker answer on host:port?
broker_answers() {
  api_versions_probe "$1" "$2" || return 1
  if have_kafkajs; then kafkajs_probe "$1" "$2"; fi
}

# ---------------------------------------------------------------- process

# The pid of the broker this script started, if it is still alive. The cmdline
# check guards against pid reuse after a kill -9 and ignores zombies.
our_pid() {
  local pid
  [ -f "$PID_FILE" ] || return 1
  pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $CONF_DIR/server.properties" || return 1
  echo "$pid"
}

stop_pid() { # pid
  log "stopping broker (pid $1) ..."
  terminate "$1" "$STOP_TIMEOUT"
  rm -f "$PID_FILE"
}

# ---------------------------------------------------------------- setup

# Materialise the classpath once; refetch only when pom.xml changes. Maven runs
# on a copy of the pom in the cache dir so nothing (target/) lands in the repo.
ensure_jars() {
  local want
  want=$(sha256sum "$POM" | cut -d' ' -f1)
  if [ "$(cat "$LIB_DIR/$STAMP_NAME" 2>/dev/null)" = "$want" ]; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found (Debian: apt-get install maven)"
  command -v java >/dev/null || die "java not found (Debian: apt-get install openjdk-17-jre-headless)"
  log "fetching Kafka jars from Maven Central (first run, or pom.xml changed; up to a minute) ..."
  mkdir -p "$LOG_DIR" "$KAFKA_DIR/mvn"
  cp "$POM" "$KAFKA_DIR/mvn/pom.xml"
  rm -rf "$LIB_DIR.tmp"
  if ! mvn -B -q -f "$KAFKA_DIR/mvn/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$LIB_DIR.tmp" >"$LOG_DIR/mvn.log" 2>&1; then
    trap - ERR
    log "ERROR: Maven could not fetch the Kafka jars; last 50 lines of $LOG_DIR/mvn.log:"
    tail -n 50 "$LOG_DIR/mvn.log" >&2
    exit 1
  fi
  echo "$want" >"$LIB_DIR.tmp/$STAMP_NAME"
  rm -rf "$LIB_DIR"
  mv "$LIB_DIR.tmp" "$LIB_DIR"
}

# Rewritten on every start so KAFKA_PORT / KAFKA_CONTROLLER_PORT changes apply.
write_config() {
  mkdir -p "$CONF_DIR" "$DATA_DIR" "$LOG_DIR"
  cat >"$CONF_DIR/server.properties" <<EOF
# Generated by scripts/kafka/kafka.sh -- edits are overwritten on the next start.
# Single combined KRaft node with a static quorum of one voter.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CTRL_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CTRL_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$DATA_DIR

# One broker: internal topics cannot be replicated.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# Fewer internal partitions than the default 50: faster first consumer group /
# first transaction on a small machine.
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10

# Tests: consumers join immediately; the project creates its topics explicitly.
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.partitions=3

# After a kill -9 the restarted broker is refused (DUPLICATE_BROKER_REGISTRATION)
# until the dead incarnation's session expires: default 9 s, here 4 s, so fault
# tests that kill and restart the broker recover faster.
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=1000

# 2-core machine, 512 MB heap: fewer threads, smaller log-cleaner buffer
# (default 128 MB would be allocated on the heap at startup).
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216
EOF

  # Kafka 3.9 logs through slf4j -> reload4j (log4j 1.x syntax). WARN keeps it
  # quiet; KafkaRaftServer at INFO so "Kafka Server started" is logged, and
  # BrokerLifecycleManager (a handful of lines per boot) to show registration waits.
  cat >"$CONF_DIR/log4j.properties" <<EOF
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$LOG_DIR/server.log
log4j.appender.file.MaxFileSize=10MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerLifecycleManager=INFO
EOF

  # For the one-shot StorageTool runs: warnings to stderr only.
  cat >"$CONF_DIR/tools-log4j.properties" <<EOF
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

storage_tool() {
  java -Xmx256m -Dlog4j.configuration="file:$CONF_DIR/tools-log4j.properties" \
    -cp "$LIB_DIR/*" kafka.tools.StorageTool "$@"
}

# KRaft refuses to start on an unformatted dir. Format once; the cluster id is
# generated once and kept, so a wiped data/ comes back as the same cluster.
ensure_formatted() {
  [ -f "$DATA_DIR/meta.properties" ] && return 0
  if [ ! -s "$CLUSTER_ID_FILE" ]; then
    storage_tool random-uuid >"$CLUSTER_ID_FILE.tmp" 2>>"$LOG_DIR/storage-tool.log" ||
      die "kafka.tools.StorageTool random-uuid failed (see $LOG_DIR/storage-tool.log)"
    mv "$CLUSTER_ID_FILE.tmp" "$CLUSTER_ID_FILE"
  fi
  log "formatting $DATA_DIR (cluster id $(cat "$CLUSTER_ID_FILE")) ..."
  storage_tool format --ignore-formatted -t "$(cat "$CLUSTER_ID_FILE")" \
    -c "$CONF_DIR/server.properties" >>"$LOG_DIR/storage-tool.log" 2>&1 ||
    { tail -n 50 "$LOG_DIR/storage-tool.log" >&2; die "storage format failed"; }
}

launch() {
  rm -f "$PID_FILE"
  # JVM stdout/stderr (crashes, bad flags) per run; keep the previous run's.
  [ ! -e "$LOG_DIR/console.log" ] || mv -f "$LOG_DIR/console.log" "$LOG_DIR/console.log.1"
  # setsid: the broker must outlive this script and its caller's process group.
  # The inner bash writes its own pid, then execs java, so the pid is java's.
  # 9>&- : do not leak the flock fd into the broker (it would hold the lock forever).
  # shellcheck disable=SC2016
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
    java "${HEAP_OPTS[@]}" \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$CONF_DIR/log4j.properties" \
    -Dkafka.logs.dir="$LOG_DIR" \
    ${EXTRA_JVM_OPTS[@]+"${EXTRA_JVM_OPTS[@]}"} \
    -cp "$LIB_DIR/*" kafka.Kafka "$CONF_DIR/server.properties" \
    </dev/null >>"$LOG_DIR/console.log" 2>&1 9>&- &
  for _ in $(seq 50); do [ -s "$PID_FILE" ] && break; sleep 0.1; done
  [ -s "$PID_FILE" ] || die "broker process did not start"
}

# Ready = answers a raw ApiVersions request, logged "Kafka Server started" in
# this run (the log survives restarts, so only look past $1 bytes; "" skips this
# check) and, when the project's kafkajs is installed, lists itself as a live broker.
started_logged() { # log-offset
  [ -z "$1" ] || tail -c +"$(($1 + 1))" "$LOG_DIR/server.log" 2>/dev/null | grep -q 'Kafka Server started'
}

wait_ready() { # log-offset
  local pid deadline=$((SECONDS + START_TIMEOUT))
  pid=$(cat "$PID_FILE")
  while ((SECONDS < deadline)); do
    our_pid >/dev/null || die "broker process $pid exited during startup"
    if started_logged "$1" && broker_answers "$HOST" "$PORT"; then
      return 0
    fi
    sleep 0.5
  done
  log "broker not ready within ${START_TIMEOUT}s; stopping it"
  show_logs
  trap - ERR
  stop_pid "$pid" || true
  log "ERROR: Kafka did not start within ${START_TIMEOUT}s (raise KAFKA_START_TIMEOUT if the machine is just slow)"
  exit 1
}

# ---------------------------------------------------------------- commands

cmd_start() {
  if [ -n "${KAFKA_BROKERS:-}" ]; then
    log "KAFKA_BROKERS is set; using that broker, not starting one"
    echo "KAFKA_BROKERS=$KAFKA_BROKERS"
    return 0
  fi
  take_lock "$KAFKA_DIR" .kafka.sh.lock
  if broker_answers "$HOST" "$PORT"; then
    log "a Kafka broker already answers on $BROKERS; reusing it"
    echo "KAFKA_BROKERS=$BROKERS"
    return 0
  fi
  local pid
  if pid=$(our_pid); then
    # Ours but silent: maybe still booting (an interrupted `start`), maybe on
    # other ports. Never kill it behind the caller's back.
    grep -qxF "listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CTRL_PORT" "$CONF_DIR/server.properties" ||
      die "our broker (pid $pid) runs with other ports ($(grep '^listeners=' "$CONF_DIR/server.properties")); run '$0 stop' first"
    log "our broker (pid $pid) is running but not answering yet; waiting for it"
    wait_ready ""
    echo "KAFKA_BROKERS=$BROKERS"
    return 0
  fi
  rm -f "$PID_FILE" # stale after a kill -9 / reboot
  local p
  for p in "$PORT" "$CTRL_PORT"; do
    if tcp_open "$HOST" "$p"; then
      die "port $HOST:$p is taken by something that is not this Kafka (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
    fi
  done

  ensure_jars
  write_config
  ensure_formatted
  local offset version
  version=$(find "$LIB_DIR" -name 'kafka_2.13-*.jar' -printf '%f\n' | sed 's/^kafka_2\.13-//; s/\.jar$//')
  offset=$(stat -c %s "$LOG_DIR/server.log" 2>/dev/null || echo 0)
  log "starting Kafka $version on $BROKERS (logs: $LOG_DIR) ..."
  launch
  wait_ready "$offset"
  log "Kafka is up (pid $(cat "$PID_FILE"))"
  echo "KAFKA_BROKERS=$BROKERS"
}

cmd_stop() {
  take_lock "$KAFKA_DIR" .kafka.sh.lock
  local pid
  if pid=$(our_pid); then
    stop_pid "$pid"
    log "stopped"
  else
    rm -f "$PID_FILE"
    log "not running (no broker started by this script)"
  fi
}

cmd_kill() {
  take_lock "$KAFKA_DIR" .kafka.sh.lock
  local pid
  if pid=$(our_pid); then
    kill_hard "$pid"
    log "killed pid $pid (pid file left behind on purpose, like a crash)"
  else
    log "not running"
  fi
}

cmd_status() {
  local target=${KAFKA_BROKERS:-$BROKERS} pid
  target=${target%%,*}
  if pid=$(our_pid); then log "broker process running (pid $pid)"; fi
  if broker_answers "${target%:*}" "${target##*:}"; then
    log "Kafka answers on $target"
    return 0
  fi
  log "no Kafka answers on $target"
  exit 1 # exit, not return: a failing function would trip the ERR trap
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  kill) cmd_kill ;;
  restart) cmd_stop && cmd_start ;;
  status) cmd_status ;;
  env) echo "KAFKA_BROKERS=${KAFKA_BROKERS:-$BROKERS}" ;;
  pid) our_pid || { log "not running"; exit 1; } ;;
  jars) # fetch the jars when needed; print the classpath folder (scripts/cluster/kafka-cluster.sh)
    take_lock "$KAFKA_DIR" .kafka.sh.lock
    ensure_jars
    echo "$LIB_DIR"
    ;;
  logs) show_logs ;;
  *)
    echo "usage: $0 {start|stop|kill|restart|status|env|pid|logs|jars}" >&2
    exit 2
    ;;
esac
