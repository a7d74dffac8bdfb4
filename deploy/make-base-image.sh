#!/usr/bin/env bash
# Makes the base image newscrawl's Dockerfile builds on, from Debian's packages, where no base
# image can be pulled (a machine that reaches Debian's mirror but no container registry).
#
#   deploy/make-base-image.sh            # -> newscrawl-base:bookworm
#
# Skipped when the image exists already. Where a registry answers, the official
# python:3.11-slim-bookworm image is pulled and tagged instead (the same Debian release and
# Python minor version). Otherwise: debootstrap a minimal bookworm with python3 and venv, strip
# documentation and package lists, and `docker import` the tree. Needs root, debootstrap and a
# running Docker engine.
set -euo pipefail

IMAGE=${NEWSCRAWL_BASE_IMAGE:-newscrawl-base:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base image $IMAGE exists"
  exit 0
fi
if timeout 60 docker pull -q python:3.11-slim-bookworm >/dev/null 2>&1; then
  docker tag python:3.11-slim-bookworm "$IMAGE"
  echo "base image $IMAGE: python:3.11-slim-bookworm from the registry"
  exit 0
fi

command -v debootstrap >/dev/null || { echo "debootstrap is needed (apt-get install debootstrap)" >&2; exit 1; }
rootfs=$(mktemp -d /tmp/newscrawl-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "debootstrap $SUITE from $MIRROR into $rootfs"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates "$SUITE" "$rootfs" "$MIRROR" >/dev/null
# What no process of newscrawl's reads: documentation, manuals, locales, package caches and lists.
rm -rf "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
  "$rootfs"/usr/share/locale/* "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/var/log/* "$rootfs"/tmp/*
# python3 is Debian's 3.11; `python` names it too, as in the official images.
ln -sf python3 "$rootfs"/usr/bin/python
tar --numeric-owner -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  - "$IMAGE" >/dev/null
echo "base image $IMAGE: $(docker image inspect -f '{{.Size}}' "$IMAGE") bytes"
