#!/bin/sh
# Install the Debian packages the app and its tests need, if any are missing.
# Runs as root (CI) or through sudo; does nothing when everything is present.
set -eu

# poppler-utils: pdftoppm for looking at receipts; fonts-wqy-microhei: Chinese on screen;
# xvfb, xauth, libxcb-*: a real window for screenshots (offscreen Qt needs none of them);
# postgresql: the hub's regional database (the tests start a cluster of their own with initdb + pg_ctl).
PACKAGES="python3 python3-venv postgresql poppler-utils fonts-wqy-microhei xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3"

missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
# A Python that already has venv (pyenv, a developer's build) needs no Debian Python.
if python3 -c 'import venv, ensurepip' 2>/dev/null; then
    missing=$(echo "$missing" | tr ' ' '\n' | grep -v -x -e python3 -e python3-venv | tr '\n' ' ' || true)
fi
missing=$(echo "$missing" | xargs)
[ -z "$missing" ] && exit 0

echo "Installing Debian packages: $missing"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
