"""Every entry point this distribution declares passes maskssl's conformance kit.

``maskssl_component`` comes from maskssl's pytest plugin: it is parametrized over the (kind, name) entry
points of ``maskssl_distribution`` (pyproject.toml), so a component you add there is checked here.
"""

from maskssl.testing import check_component


def test_entry_point_conforms(maskssl_component: tuple[str, str], maskssl_overrides: dict[str, list[str]]) -> None:
    check_component(*maskssl_component, overrides=maskssl_overrides)
