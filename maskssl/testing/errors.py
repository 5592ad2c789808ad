"""The one exception the conformance kit raises, and how it names the component that failed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")


class ConformanceError(AssertionError):
    """A component breaks a contract of ``maskssl.interfaces``.

    The message has three parts, also kept as attributes: which component (``component``), which
    property it breaks (``prop``, e.g. "exact hidden count"), what was observed (``problem``) and how
    to fix it (``fix``). It is an AssertionError, so pytest shows it as an ordinary test failure.
    """

    def __init__(self, component: str, prop: str, problem: str, fix: str) -> None:
        self.component, self.prop, self.problem, self.fix = component, prop, problem, fix
        super().__init__(f"{component} fails '{prop}': {problem}. Fix: {fix}")


def describe(kind: str, obj: Any, name: str | None = None) -> str:
    """How messages name a component: "masker 'block' (maskssl_image.maskers.BlockMasker)"."""
    cls = obj if isinstance(obj, type) else type(obj)
    where = f"{cls.__module__}.{cls.__qualname__}"
    return f"{kind} '{name}' ({where})" if name else f"{kind} {where}"


def fail(component: str, prop: str, problem: str, fix: str, cause: BaseException | None = None) -> ConformanceError:
    """Build the error to ``raise``; with ``cause`` the original exception's type and text join the problem."""
    if cause is not None:
        problem = f"{problem}: {type(cause).__name__}: {str(cause).rstrip('.')}"
    return ConformanceError(component, prop, problem, fix)


def run(component: str, prop: str, what: str, call: Callable[[], R]) -> R:
    """``call()``, turning any exception into a ConformanceError that says what was being run."""
    try:
        return call()
    except Exception as exc:  # third-party code
        raise fail(component, prop, f"{what} raised", "see the exception; the interface docstrings in "
                   "maskssl.interfaces give the expected inputs and outputs", exc) from exc
