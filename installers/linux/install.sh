#!/bin/sh
# Install (or upgrade) 共济前台 from this unpacked folder into /opt/gongji-front-desk and add the menu entry.
# The database is not here: it lives in each user's ~/.local/share/gongji-front-desk/ and is never touched.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TARGET=${TARGET:-/opt/gongji-front-desk}
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=""; fi
$SUDO rm -rf "$TARGET.new"
$SUDO cp -a "$HERE" "$TARGET.new"
$SUDO rm -rf "$TARGET.old"
[ -d "$TARGET" ] && $SUDO mv "$TARGET" "$TARGET.old"
$SUDO mv "$TARGET.new" "$TARGET"
$SUDO rm -rf "$TARGET.old"
$SUDO install -Dm644 "$HERE/gongji-front-desk.desktop" /usr/share/applications/gongji-front-desk.desktop
$SUDO install -Dm644 "$HERE/gongji-front-desk.png" /usr/share/icons/hicolor/256x256/apps/gongji-front-desk.png
$SUDO ln -sf "$TARGET/desktop-app" /usr/local/bin/desktop-app
echo "已安装到 $TARGET / installed to $TARGET"
