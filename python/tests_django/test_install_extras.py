"""`pip install "tessera[django]"` and `"tessera[openapi]"`: the extras of
the installed distribution, as the README shows them."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

from packaging.requirements import Requirement

README = Path(__file__).resolve().parents[2] / "README.md"


def extras() -> dict[str, dict[str, Requirement]]:
    found: dict[str, dict[str, Requirement]] = {}
    for line in importlib.metadata.requires("tessera") or []:
        requirement = Requirement(line)
        extra = re.search(r"extra == ['\"]([\w-]+)['\"]", str(requirement.marker))
        assert extra is not None, line
        found.setdefault(extra.group(1), {})[requirement.name.lower()] = requirement
    return found


def test_the_django_extra_brings_django_and_drf_as_ranges() -> None:
    django = extras()["django"]
    assert set(django) == {"django", "djangorestframework"}
    for requirement in django.values():
        # Ranges, not pins: a site chooses its own patch releases.
        assert not any(spec.operator == "==" for spec in requirement.specifier)
        assert any(spec.operator == ">=" for spec in requirement.specifier)
    installed = importlib.metadata.version("Django")
    assert django["django"].specifier.contains(installed)
    assert django["djangorestframework"].specifier.contains(
        importlib.metadata.version("djangorestframework")
    )


def test_the_openapi_extra_adds_drf_spectacular() -> None:
    openapi = extras()["openapi"]
    assert set(openapi) == {"tessera", "drf-spectacular"}
    assert openapi["tessera"].extras == {"django"}
    assert openapi["drf-spectacular"].specifier.contains(
        importlib.metadata.version("drf-spectacular")
    )


def test_the_secret_scanning_extra_adds_cryptography() -> None:
    scanning = extras()["secret-scanning"]
    assert set(scanning) == {"tessera", "cryptography"}
    assert scanning["cryptography"].specifier.contains(importlib.metadata.version("cryptography"))


def test_the_readme_shows_both() -> None:
    text = README.read_text()
    assert 'pip install "tessera[django]"' in text
    assert 'pip install "tessera[openapi]"' in text
    assert "tessera[secret-scanning]" in text
