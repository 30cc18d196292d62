#!/usr/bin/env bash
# Make a Docker Engine available for the docker-marked tests and the Docker sandbox backend.
# Installs Debian's docker.io and starts dockerd when running as root and none answers.
set -uo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure_docker: no Docker Engine answers and we are not root; docker tests will fail" >&2
  exit 1
fi
if ! command -v dockerd >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
mkdir -p /var/log
nohup dockerd >/var/log/codeq-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "ensure_docker: dockerd did not come up; see /var/log/codeq-dockerd.log" >&2
exit 1
