#!/usr/bin/env bash
# Install fourbyfour on Raspberry Pi OS:  sudo deploy/install.sh          (from a checkout)
# Uninstall (keeps the config and the session records):  sudo deploy/install.sh --uninstall
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
prefix=/opt/fourbyfour
etc=/etc/fourbyfour

if [ "$(id -u)" -ne 0 ]; then
    echo "run as root: sudo $0 $*" >&2
    exit 1
fi

if [ "${1:-}" = "--uninstall" ]; then
    systemctl disable --now fourbyfour-console.service fourbyfour.service 2>/dev/null || true
    rm -f /etc/systemd/system/fourbyfour.service /etc/systemd/system/fourbyfour-console.service
    rm -f /etc/udev/rules.d/99-fourbyfour.rules
    systemctl daemon-reload
    udevadm control --reload || true
    rm -rf "$prefix"
    echo "uninstalled; kept $etc (config) and /var/lib/fourbyfour (session records)"
    exit 0
fi

apt-get install -y python3-venv python3-lgpio libusb-1.0-0 >/dev/null
id fourbyfour >/dev/null 2>&1 || useradd --system --home /var/lib/fourbyfour \
    --shell /usr/sbin/nologin fourbyfour
for g in dialout gpio plugdev; do
    getent group "$g" >/dev/null && usermod -aG "$g" fourbyfour
done

python3 -m venv --system-site-packages "$prefix/venv"   # lgpio comes from Raspberry Pi OS
"$prefix/venv/bin/pip" install --quiet "$here"
cp "$here/README.md" "$prefix/README.md"

install -d -m 0750 -o root -g fourbyfour "$etc"
if [ ! -e "$etc/fourbyfour.toml" ]; then
    install -m 0640 -o root -g fourbyfour "$here/deploy/fourbyfour.toml.example" \
        "$etc/fourbyfour.toml"
    created=yes
fi
install -m 0644 "$here/systemd/fourbyfour.service" /etc/systemd/system/
install -m 0644 "$here/systemd/fourbyfour-console.service" /etc/systemd/system/
install -m 0644 "$here/systemd/99-fourbyfour.rules" /etc/udev/rules.d/
udevadm control --reload && udevadm trigger || true
systemctl daemon-reload
systemctl enable fourbyfour.service fourbyfour-console.service >/dev/null

echo "installed in $prefix."
if [ "${created:-}" = yes ]; then
    echo "now edit $etc/fourbyfour.toml: [site] name/device, [mqtt] broker, [patient] caps,"
    echo "[gpio] pins (wiring: firmware/README.md and controller/devices/gpio.py), then:"
fi
echo "  sudo systemctl start fourbyfour fourbyfour-console"
