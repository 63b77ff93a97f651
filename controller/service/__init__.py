"""The control process: runtime, configuration, the local control socket, systemd notify."""
