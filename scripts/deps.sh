#!/usr/bin/env bash
# Install every Debian package edxbus needs to build, test, fuzz and benchmark.
# Idempotent: when everything is present it prints nothing and touches nothing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config           # toolchain
  clang libclang-rt-14-dev                   # libFuzzer targets (make fuzz)
  libjansson-dev                             # JSON
  libsqlite3-dev                             # the embedded broker
  libyaml-dev                                # settings files
  libhiredis-dev redis-server                # Redis Streams backend and its tests
  libssl-dev openssl                         # Redis over TLS (rediss://), and the certificates its tests make
  librdkafka-dev                             # Kafka backend (and its mock cluster for tests)
  libnats-dev nats-server                    # NATS JetStream backend and its tests
  libcurl4-openssl-dev                       # Schema Registry client
  libmicrohttpd-dev                          # the metrics listener; the test Schema Registry
  libavro-dev                                # avro-c, the comparison in bench/
  python3 python3-dev python3-setuptools     # the Python extension (python/)
  python3-django python3-redis               # its tests: the openedx plug-in, reading Redis back
  python3-confluent-kafka                    # ... and reading Kafka records back as the reference does
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
echo "edxbus deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
