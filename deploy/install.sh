#!/usr/bin/env bash
# Install fourbyfour on Raspberry Pi OS:  sudo deploy/install.sh          (from a checkout)
# Uninstall (keeps the config and the session records):  sudo deploy/install.sh --uninstall
# FOURBYFOUR_ROOT=/some/dir installs into a scratch root instead of / (the tests do, with
# systemctl, apt-get … stubbed); on a Pi leave it unset.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=${FOURBYFOUR_ROOT:-}
prefix=$root/opt/fourbyfour
etc=$root/etc/fourbyfour
units=$root/etc/systemd/system
rules=$root/etc/udev/rules.d

if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
    echo "run as root: sudo $0 $*" >&2
    exit 1
fi

if [ "${1:-}" = "--uninstall" ]; then
    systemctl disable --now fourbyfour-console.service fourbyfour.service 2>/dev/null || true
    rm -f "$units/fourbyfour.service" "$units/fourbyfour-console.service"
    rm -f "$rules/99-fourbyfour.rules"
    systemctl daemon-reload
    # the staff console took tty1 (Conflicts=getty@tty1.service): give the login back
    systemctl enable --now getty@tty1.service || true
    udevadm control --reload || true
    rm -rf "$prefix"
    echo "uninstalled; kept $etc (config) and $root/var/lib/fourbyfour (session records);"
    echo "the UART settings in config.txt/cmdline.txt are left as they are"
    exit 0
fi

# The treadmill link is the GPIO UART (/dev/serial0 → the Pico's UART0, firmware/README.md):
# it must be enabled and free of the kernel's login console.
boot=$root/boot/firmware
[ -f "$boot/config.txt" ] || boot=$root/boot
uart=$(bash "$here/deploy/check-uart.sh" "$boot" --fix) || { echo "$uart" >&2; exit 1; }
echo "$uart"
# with the console off cmdline.txt, no serial getty is generated; one enabled by hand goes too
systemctl disable --now serial-getty@ttyAMA0.service serial-getty@ttyS0.service \
    serial-getty@serial0.service 2>/dev/null || true

apt-get update -q
# gcc and python3-dev: pip compiles the control law with mypyc (without them: pure Python)
apt-get install -y python3-venv python3-lgpio libusb-1.0-0 gcc python3-dev >/dev/null
id fourbyfour >/dev/null 2>&1 || useradd --system --home /var/lib/fourbyfour \
    --shell /usr/sbin/nologin fourbyfour
for g in dialout gpio plugdev; do
    getent group "$g" >/dev/null && usermod -aG "$g" fourbyfour
done

python3 -m venv --system-site-packages "$prefix/venv"   # lgpio comes from Raspberry Pi OS
"$prefix/venv/bin/pip" install --quiet "$here"
cp "$here/README.md" "$here/CHANGELOG.md" "$prefix/"
# the README links into docs/ (the pages as Markdown; the site: mkdocs build)
rm -rf "$prefix/docs" && cp -r "$here/docs" "$prefix/docs"

install -d -m 0750 -o root -g fourbyfour "$etc"
if [ ! -e "$etc/fourbyfour.toml" ]; then
    install -m 0640 -o root -g fourbyfour "$here/deploy/fourbyfour.toml.example" \
        "$etc/fourbyfour.toml"
    created=yes
fi
install -d "$units" "$rules"
install -m 0644 "$here/systemd/fourbyfour.service" "$units/"
install -m 0644 "$here/systemd/fourbyfour-console.service" "$units/"
install -m 0644 "$here/systemd/99-fourbyfour.rules" "$rules/"
udevadm control --reload && udevadm trigger || true
systemctl daemon-reload
systemctl enable fourbyfour.service fourbyfour-console.service >/dev/null

echo "installed in $prefix."
if [ "${created:-}" = yes ]; then
    echo "now edit $etc/fourbyfour.toml: [site] name/device, [mqtt] broker, [patient] caps,"
    echo "[gpio] pins (wiring: firmware/README.md and controller/devices/gpio.py), then:"
fi
case "$uart" in
    fixed:*) echo "  sudo reboot    (the UART settings change at boot; the services start then)" ;;
    *) echo "  sudo systemctl start fourbyfour fourbyfour-console" ;;
esac
