#!/bin/sh
# Add mmsearch from this unpacked folder to your own menu (no root needed):
# the menu entry goes to ~/.local/share/applications, the icon to ~/.local/share/icons,
# and a `mmsearch` command to ~/.local/bin. Run it again after moving the folder;
# `install-desktop-entry.sh --remove` takes them away again (your photos' catalog stays).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
apps=$data/applications
icons=$data/icons/hicolor/scalable/apps
bin=$HOME/.local/bin
if [ "${1:-}" = "--remove" ]; then
    rm -f "$apps/mmsearch.desktop" "$icons/mmsearch.svg" "$bin/mmsearch" "$bin/mmsearch-gui"
    echo "mmsearch removed from the menu (user data in $data/mmsearch is kept)"
    exit 0
fi
mkdir -p "$apps" "$icons" "$bin"
sed "s|^Exec=.*|Exec=$here/mmsearch/mmsearch-gui|; s|^TryExec=.*|TryExec=$here/mmsearch/mmsearch-gui|" \
    "$here/mmsearch.desktop" > "$apps/mmsearch.desktop"
cp "$here/mmsearch.svg" "$icons/mmsearch.svg"
ln -sf "$here/mmsearch/mmsearch" "$bin/mmsearch"
ln -sf "$here/mmsearch/mmsearch-gui" "$bin/mmsearch-gui"
command -v update-desktop-database >/dev/null && update-desktop-database "$apps" || true
echo "mmsearch added to the menu; the command is $bin/mmsearch"
