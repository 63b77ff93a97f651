"""A tiny test runner that works on MicroPython (no unittest there) and CPython.

    micropython firmware/tests/run.py     |     python firmware/tests/run.py

Runs every ``test_*`` function of the test modules and prints "N passed, N failed"; the exit
code is non-zero when anything failed.
"""

import sys

HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, HERE)
sys.path.insert(0, HERE + "/..")

MODULES = ("test_codec", "test_supervisor", "test_hal", "test_boot")


def main():
    passed = failed = 0
    for name in MODULES:
        mod = __import__(name)
        for attr in sorted(dir(mod)):
            if not attr.startswith("test_"):
                continue
            try:
                getattr(mod, attr)()
                passed += 1
            except Exception as e:  # report every failure, keep going
                failed += 1
                print("FAIL %s.%s: %s %s" % (name, attr, type(e).__name__, e))
    impl = sys.implementation.name
    print("%s: %d passed, %d failed" % (impl, passed, failed))
    return 1 if failed else 0


sys.exit(main())
