"""A quicker ``__init__`` for the frozen dataclasses made on every control tick.

A frozen dataclass's generated ``__init__`` sets each field through
``object.__setattr__(self, name, value)`` (its own ``__setattr__`` refuses): a call per
field. A session tick builds a ``HrReading``, a ``GateVerdict``, a ``ControlInput`` (18
fields), a ``ControlDecision`` and a ``Setpoint`` (15 fields), some 50 such calls; a year's
simulated history (``demo --weeks 52``, issue 23) some ten million. ``frozen_init`` gives
the class an ``__init__`` with the same signature (names, order, defaults, default
factories, ``__post_init__``) that writes the fields straight into the instance's
``__dict__``: the same object, frozen as before (``__setattr__`` and ``__delattr__`` still
refuse), a fraction of the time.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")

_FACTORY = object()
"""Marks a parameter whose default comes from the field's ``default_factory``."""


def frozen_init(cls: type[T]) -> type[T]:
    """Replace the ``__init__`` of frozen dataclass ``cls`` (without slots, init-only or
    keyword-only fields) by the direct one described above; apply after ``@dataclass``."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: frozen_init needs a frozen dataclass without slots")
    names: dict[str, Any] = {"_FACTORY": _FACTORY}
    args, body = ["self"], ["    d = self.__dict__"]
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init or f.kw_only or isinstance(f.type, dataclasses.InitVar):
            raise TypeError(f"{cls.__name__}.{f.name}: frozen_init takes plain fields only")
        if f.default is not dataclasses.MISSING:
            names[f"_dflt_{f.name}"] = f.default
            args.append(f"{f.name}=_dflt_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            names[f"_fact_{f.name}"] = f.default_factory
            args.append(f"{f.name}=_FACTORY")
            body.append(f"    if {f.name} is _FACTORY:\n        {f.name} = _fact_{f.name}()")
        else:
            args.append(f.name)
        body.append(f"    d[{f.name!r}] = {f.name}")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    src = f"def __init__({', '.join(args)}) -> None:\n" + "\n".join(body) + "\n"
    exec(src, names)  # our own text, built from the class's field names
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 - a class attribute, set after the class
    return cls
