#!/usr/bin/env bash
# The code stage reads git repositories with the `git` command line (ls-tree / cat-file).
# Idempotent: installs the Debian package only when git is missing.
set -euo pipefail
if command -v git >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends git
else
  echo "setup_code.sh: please install git (needed to read git repositories in the code stage)" >&2
  exit 1
fi
