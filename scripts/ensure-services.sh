#!/usr/bin/env bash
# Starts the machine's RabbitMQ, PostgreSQL and NATS (JetStream) when they are installed but not
# answering; NATS's Debian package is installed first when it is missing.
# Used by .ci/run; on a laptop with these services already running it does nothing.
set -uo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # name port seconds
  local i
  for ((i = 0; i < $3 * 2; i++)); do port_open "$2" && return 0; sleep 0.5; done
  echo "ensure-services: $1 did not come up on 127.0.0.1:$2 within $3 s" >&2
  return 1
}

if ! port_open 5672; then
  if command -v rabbitmq-server >/dev/null; then
    echo "ensure-services: starting RabbitMQ"
    rabbitmq-server -detached || true
    wait_port RabbitMQ 5672 90 || exit 1
  else
    echo "ensure-services: RabbitMQ is not running on 127.0.0.1:5672 and rabbitmq-server is not installed" >&2
  fi
fi

if ! port_open 5432; then
  if command -v pg_ctlcluster >/dev/null; then
    echo "ensure-services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    wait_port PostgreSQL 5432 60 || exit 1
  else
    echo "ensure-services: PostgreSQL is not running on 127.0.0.1:5432 and pg_ctlcluster is not installed" >&2
  fi
fi
if ! port_open 4222; then
  if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ] && command -v apt-get >/dev/null; then
    echo "ensure-services: installing nats-server (Debian package)"
    (apt-get install -y nats-server >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y nats-server >/dev/null 2>&1; }) || true
  fi
  NATS_BIN=$(command -v nats-server || echo /usr/sbin/nats-server)
  if [ -x "$NATS_BIN" ]; then
    echo "ensure-services: starting NATS with JetStream"
    mkdir -p /var/tmp/eventform-nats
    setsid nohup "$NATS_BIN" -js -a 127.0.0.1 -p 4222 -sd /var/tmp/eventform-nats >/var/tmp/eventform-nats.log 2>&1 &
    wait_port NATS 4222 30 || exit 1
  else
    echo "ensure-services: NATS is not running on 127.0.0.1:4222 and nats-server is not installed" >&2
  fi
fi
exit 0
