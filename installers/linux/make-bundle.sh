#!/bin/sh
# Make the Linux tarball from the PyInstaller one-folder build.
#   sh installers/linux/make-bundle.sh DIST_DIR OUT_DIR
# DIST_DIR holds gongji-front-desk/ (the build); the tarball unpacks to gongji-front-desk-VERSION/ with the
# programs, the .desktop file, the icon and install.sh (which copies to /opt and registers the menu entry).
set -eu
DIST=${1:-build/dist}
OUT=${2:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/pyproject.toml")
NAME="gongji-front-desk-$VERSION"
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
cp -a "$DIST/gongji-front-desk" "$STAGE/$NAME"
cp "$HERE/gongji-front-desk.desktop" "$STAGE/$NAME/"
cp "$ROOT/resources/icons/gongji-256.png" "$STAGE/$NAME/gongji-front-desk.png"
cp "$HERE/install.sh" "$STAGE/$NAME/"
chmod +x "$STAGE/$NAME/install.sh"
mkdir -p "$OUT"
TARBALL="$OUT/$NAME-linux-$(uname -m).tar.gz"
tar -C "$STAGE" -czf "$TARBALL" "$NAME"
echo "$TARBALL"
