#!/usr/bin/env bash
# Installs Debian's HAProxy package (used by deploy/three_nodes.py); nothing else.
set -euo pipefail
if ! command -v haproxy >/dev/null; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y haproxy
fi
# The packaged service would listen on its own configuration: the script runs its own.
systemctl disable --now haproxy 2>/dev/null || true
haproxy -v | head -1
