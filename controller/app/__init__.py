"""What people run: the command line, the staff console, the demo, the central monitor."""
