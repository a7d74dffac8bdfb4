#!/usr/bin/env bash
# Builds newscrawl's image from a checkout: the base image first where it is missing
# (deploy/make-base-image.sh), then deploy/Dockerfile.
#
#   deploy/build-image.sh [TAG] [EXTRAS]      # defaults: newscrawl:latest, ops
#
# Where the package registry is reached through a TLS-inspecting proxy, the machine's CA bundle
# (PIP_CERT, else NEWSCRAWL_BUILD_CA) is handed to pip in the build stage only.
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${1:-newscrawl:latest}
EXTRAS=${2:-ops}
BASE=${NEWSCRAWL_BASE_IMAGE:-newscrawl-base:bookworm}

NEWSCRAWL_BASE_IMAGE=$BASE deploy/make-base-image.sh
ca=${PIP_CERT:-${NEWSCRAWL_BUILD_CA:-}}
if [ -n "$ca" ] && [ -f "$ca" ]; then
  cp "$ca" deploy/build-ca.pem
  trap 'rm -f deploy/build-ca.pem' EXIT
fi
docker build --quiet --network host -f deploy/Dockerfile --build-arg BASE_IMAGE="$BASE" \
  --build-arg EXTRAS="$EXTRAS" -t "$TAG" . >/dev/null
echo "$TAG: $(docker image inspect -f '{{.Size}}' "$TAG") bytes"
