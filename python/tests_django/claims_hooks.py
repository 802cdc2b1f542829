"""CLAIMS_HOOK functions for the tests (named by dotted path in settings)."""

from __future__ import annotations

from typing import Any


def role(user: Any) -> dict[str, Any]:
    """The user's role, which follows is_staff."""
    return {"role": "staff" if user.is_staff else "member"}


def reserved(user: Any) -> dict[str, Any]:
    return {"exp": 1}


def failing(user: Any) -> dict[str, Any]:
    raise RuntimeError("the role service is down")


def not_a_dict(user: Any) -> Any:
    return ["role", "member"]


NOT_CALLABLE = {"role": "member"}
