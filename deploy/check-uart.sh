#!/usr/bin/env bash
# Is the Pi's GPIO UART ready for the treadmill link (/dev/serial0 → the Pico's UART0)?
#   deploy/check-uart.sh BOOTDIR          check: prints "ok …" (exit 0) or each problem (exit 1)
#   deploy/check-uart.sh BOOTDIR --fix    make it so (backups *.fourbyfour-bak); reboot after
# BOOTDIR holds config.txt and cmdline.txt: /boot/firmware (bookworm) or /boot (older).
# Two things: the UART is enabled (enable_uart=1, the last word in config.txt), and the kernel
# does not use it as its login console (no console=serial0/ttyAMA0/ttyS0 in cmdline.txt),
# or a shell and boot messages would talk to the motor board.
set -euo pipefail
boot=${1:?usage: check-uart.sh BOOTDIR [--fix]}
fix=${2:-}
config=$boot/config.txt
cmdline=$boot/cmdline.txt
serial_console='^console=(serial0|serial1|ttyAMA[0-9]+|ttyS[0-9]+)(,.*)?$'

uart_setting() {  # the UART's setting on every Pi: 1, 0 or nothing
    # Only a line before any [filter] or under [all] applies to every model; a value under a
    # conditional section ([cm4], [pi4] …) holds for that model only. So: the last
    # unconditional value — unless a conditional section turns it off for some model.
    awk '
        /^[[:space:]]*\[/ { s = $0; gsub(/[][[:space:]]/, "", s); cond = (s != "all"); next }
        /^[[:space:]]*enable_uart[[:space:]]*=/ {
            v = $0; sub(/^[^=]*=[[:space:]]*/, "", v); sub(/[^0-9].*$/, "", v)
            if (!cond) { last = v; off = 0 } else if (v != "1") off = 1
        }
        END { if (off && last == "1") print 0; else print last }
    ' "$config"
}

consoles() {  # the serial console words of cmdline.txt, one a line
    tr ' ' '\n' < "$cmdline" | grep -E "$serial_console" || true
}

for f in "$config" "$cmdline"; do
    [ -f "$f" ] || { echo "no $f: is $boot the Pi's boot partition?"; exit 1; }
done

problems=()
[ "$(uart_setting)" = 1 ] || problems+=("the GPIO UART is off: $config needs enable_uart=1 for every model (under [all], not only [cm4] or [pi4])")
for c in $(consoles); do
    problems+=("the kernel's login console is on the UART: remove $c from $cmdline")
done

if [ ${#problems[@]} -eq 0 ]; then
    echo "ok: UART enabled, no login console on it ($boot)"
    exit 0
fi
if [ "$fix" != --fix ]; then
    printf '%s\n' "${problems[@]}"
    exit 1
fi
cp "$config" "$config.fourbyfour-bak"
cp "$cmdline" "$cmdline.fourbyfour-bak"
if [ "$(uart_setting)" != 1 ]; then
    printf '[all]\nenable_uart=1\n' >> "$config"
fi
# cmdline.txt is one line: drop only the serial console words
line=$(tr -s ' \n' '  ' < "$cmdline" | sed 's/^ //; s/ $//')
kept=()
for w in $line; do
    [[ $w =~ $serial_console ]] || kept+=("$w")
done
printf '%s\n' "${kept[*]}" > "$cmdline"
echo "fixed: ${problems[*]} (backups: *.fourbyfour-bak); reboot for it to take effect"
