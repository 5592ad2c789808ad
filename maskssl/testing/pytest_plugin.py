"""pytest plugin (entry point ``pytest11``): the conformance kit over the entry points of the distribution under test.

In the plugin's pyproject.toml::

    [tool.pytest.ini_options]
    maskssl_distribution = "maskssl-plugin-template"
    maskssl_overrides = ["signal: data.samples=64 data.test_samples=16"]   # optional: keep models small

and one test::

    from maskssl.testing import check_component

    def test_entry_point_conforms(maskssl_component, maskssl_overrides):
        check_component(*maskssl_component, overrides=maskssl_overrides)

``maskssl_component`` is parametrized over every (kind, name) entry point the distribution declares,
so a component added to pyproject.toml is checked without touching the tests.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("maskssl_distribution", "distribution whose maskssl entry points maskssl_component runs over")
    parser.addini("maskssl_overrides", "'<modality>: key=value ...' lines for the conformance runs", type="linelist")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "maskssl_component" not in metafunc.fixturenames:
        return
    from maskssl.testing.components import distribution_components  # torch: only for sessions that use it

    distribution = metafunc.config.getini("maskssl_distribution")
    if not distribution:
        raise pytest.UsageError(
            "the maskssl_component fixture needs maskssl_distribution = \"<your distribution>\" under "
            "[tool.pytest.ini_options] in pyproject.toml"
        )
    components = distribution_components(distribution)
    metafunc.parametrize("maskssl_component", components, ids=[f"{kind}:{name}" for kind, name in components])


@pytest.fixture
def maskssl_overrides(pytestconfig: pytest.Config) -> dict[str, list[str]]:
    """The ``maskssl_overrides`` ini lines as {modality: [key=value, ...]}."""
    overrides: dict[str, list[str]] = {}
    for line in pytestconfig.getini("maskssl_overrides"):
        modality, _, items = line.partition(":")
        overrides.setdefault(modality.strip(), []).extend(items.split())
    return overrides
