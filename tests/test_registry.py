"""maskssl.registry.components: entry points of a really installed distribution, local registration, option checks.

The fixture distribution tests/fixtures/maskssl-testplugin is pip-installed once per module into a
temporary directory that is put on sys.path for this module only. It provides a working masker
"stripes" and a masker "broken" whose module raises ImportError.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import maskssl
from maskssl import registry
from maskssl.errors import ConfigError, PluginImportError, UnknownComponentError
from maskssl.interfaces import Masker, Tokens
from maskssl.maskers import RandomMasker
from maskssl.registry import create, entries, get, list_names, register_masker, unregister

FIXTURE = Path(__file__).parent / "fixtures" / "maskssl-testplugin"
DIST, VERSION = "maskssl-testplugin", "0.0.1"
PLUGIN_PACKAGE = "maskssl_testplugin"


def _forget_plugin_modules() -> None:
    for module in [m for m in sys.modules if m == PLUGIN_PACKAGE or m.startswith(PLUGIN_PACKAGE + ".")]:
        del sys.modules[module]


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """pip-install the fixture distribution into a temporary directory and put it on sys.path."""
    work = tmp_path_factory.mktemp("testplugin")
    source, target = work / "src", work / "site"
    shutil.copytree(FIXTURE, source)  # build from a copy: no build/ or egg-info in the repository
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-q", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    try:
        yield target
    finally:
        sys.path.remove(str(target))
        _forget_plugin_modules()
        importlib.invalidate_caches()
        assert "stripes" not in list_names("masker")


@pytest.fixture
def local_names() -> Iterator[list[tuple[str, str]]]:
    """Names registered by a test; unregistered afterwards even if the test fails."""
    names: list[tuple[str, str]] = []
    yield names
    for kind, name in names:
        unregister(kind, name)


def grid_tokens(batch: int = 3, side: int = 4) -> Tokens:
    return Tokens(inputs=None, targets=torch.zeros(batch, side * side, 2), grid=(side, side))


# ---- entry points from the installed distribution -----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.integration
def test_listing_finds_the_plugin_without_importing_it(plugin: Path) -> None:
    _forget_plugin_modules()
    names = list_names("masker")
    assert {"random", "stripes", "broken"} <= set(names)
    assert names == sorted(names)
    assert not [m for m in sys.modules if m.startswith(PLUGIN_PACKAGE)], "listing must not import plugins"
    entry = entries("masker")["stripes"]
    assert (entry.distribution, entry.version) == (DIST, VERSION)
    assert entry.target == "maskssl_testplugin.maskers:StripesMasker" and not entry.is_local
    assert entries("masker")["random"].distribution == "maskssl"
    assert "stripes" not in list_names("encoder")  # groups are per kind


@pytest.mark.slow
@pytest.mark.integration
def test_plugin_masker_is_created_and_works(plugin: Path) -> None:
    masker = create("masker", {"name": "stripes", "ratio": 0.5, "width": 2})
    assert type(masker).__module__ == "maskssl_testplugin.maskers" and isinstance(masker, Masker)
    assert masker.width == 2 and masker.ratio == 0.5
    assert str(plugin) in sys.modules["maskssl_testplugin.maskers"].__file__  # imported from the install
    tokens = grid_tokens()
    mask = masker(tokens, torch.Generator().manual_seed(0))
    assert mask.dtype == torch.bool and mask.shape == (3, 16) and (mask.sum(dim=1) == 8).all()
    assert torch.equal(mask, masker(tokens, torch.Generator().manual_seed(0)))


@pytest.mark.slow
@pytest.mark.integration
def test_broken_plugin_fails_only_when_asked_for(plugin: Path) -> None:
    _forget_plugin_modules()
    assert "broken" in list_names("masker")  # listing still works
    assert isinstance(create("masker", {"name": "random"}), RandomMasker)  # other components too
    assert isinstance(create("masker", {"name": "stripes"}), Masker)  # even from the same distribution
    with pytest.raises(PluginImportError) as info:
        get("masker", "broken")
    message = str(info.value)
    assert DIST in message and VERSION in message and "broken" in message
    assert "maskssl_testplugin_missing_dependency" in message  # the cause is shown
    assert isinstance(info.value, ImportError) and isinstance(info.value.__cause__, ImportError)
    with pytest.raises(PluginImportError, match=DIST):
        create("masker", {"name": "broken", "ratio": 0.5})


@pytest.mark.slow
@pytest.mark.integration
def test_unknown_name_lists_installed_and_suggests_nearest(plugin: Path) -> None:
    with pytest.raises(UnknownComponentError) as info:
        get("masker", "strips")
    message = str(info.value)
    assert "unknown masker 'strips'" in message
    assert "Installed: " in message and all(name in message for name in ("random", "stripes", "broken"))
    assert "Did you mean 'stripes'?" in message
    assert not message.startswith("'")  # no KeyError quoting
    assert isinstance(info.value, KeyError) and isinstance(info.value, ConfigError)
    with pytest.raises(UnknownComponentError) as far:
        create("masker", {"name": "zzzzzz"})
    assert "Did you mean" not in str(far.value) and "random" in str(far.value)


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown component kind 'maskers'"):
        list_names("maskers")
    with pytest.raises(ValueError, match="kinds are: modality, masker"):
        registry.register("optimizer", "sgd")


# ---- local registration ---------------------------------------------------------------------------------------


def test_local_registration_is_usable_through_create(local_names: list) -> None:
    class EveryOther(Masker):
        def __call__(self, tokens: Tokens, generator: torch.Generator | None = None) -> torch.Tensor:
            mask = torch.zeros(tokens.batch_size, tokens.num_tokens, dtype=torch.bool, device=tokens.device)
            mask[:, : self.num_hidden(tokens.num_tokens)] = True
            return mask

    local_names.append(("masker", "test-every-other"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a new name does not warn
        returned = register_masker("test-every-other")(EveryOther)
    assert returned is EveryOther  # the decorator gives the class back unchanged
    assert "test-every-other" in list_names("masker")
    entry = entries("masker")["test-every-other"]
    assert entry.is_local and entry.distribution == "(local)" and "EveryOther" in entry.target
    masker = create("masker", {"name": "test-every-other", "ratio": 0.25})
    assert isinstance(masker, EveryOther) and masker.ratio == 0.25

    unregister("masker", "test-every-other")
    assert "test-every-other" not in list_names("masker")
    with pytest.raises(UnknownComponentError):
        create("masker", {"name": "test-every-other"})
    unregister("masker", "test-every-other")  # unregistering twice is harmless


@pytest.mark.slow
@pytest.mark.integration
def test_local_registration_overrides_entry_point_with_warning(plugin: Path, local_names: list) -> None:
    class LocalStripes(RandomMasker):
        pass

    local_names.append(("masker", "stripes"))
    with pytest.warns(UserWarning, match=rf"local masker 'stripes' overrides the one from {DIST} {VERSION}"):
        register_masker("stripes")(LocalStripes)
    assert entries("masker")["stripes"].is_local
    assert list_names("masker").count("stripes") == 1
    assert isinstance(create("masker", {"name": "stripes", "ratio": 0.5}), LocalStripes)

    unregister("masker", "stripes")
    assert not entries("masker")["stripes"].is_local  # the entry point is back
    assert type(create("masker", {"name": "stripes"})).__name__ == "StripesMasker"


def test_core_entry_points_can_be_overridden_too(local_names: list) -> None:
    class MyRandom(RandomMasker):
        pass

    core = entries("masker")["random"]
    assert core.distribution == "maskssl" and core.version == maskssl.__version__
    local_names.append(("masker", "random"))
    with pytest.warns(UserWarning, match=rf"overrides the one from maskssl {re.escape(core.version)}"):
        registry.register("masker", "random")(MyRandom)
    assert isinstance(create("masker", {"name": "random"}), MyRandom)
    unregister("masker", "random")
    assert type(create("masker", {"name": "random"})) is RandomMasker


def test_factory_functions_can_be_registered(local_names: list) -> None:
    def half_masker(scale: float = 1.0) -> RandomMasker:
        return RandomMasker(0.5 * scale)

    local_names.append(("masker", "test-half"))
    registry.register("masker", "test-half")(half_masker)
    assert create("masker", {"name": "test-half", "scale": 1}).ratio == 0.5


# ---- options: checked against the factory's signature ------------------------------------------------------


def test_unknown_option_lists_valid_keys_and_suggests_nearest() -> None:
    with pytest.raises(ConfigError) as info:
        create("masker", {"name": "random", "ratoi": 0.5})
    message = str(info.value)
    assert "unknown key 'masker.ratoi'" in message and "valid keys: ratio" in message
    assert "Did you mean 'masker.ratio'?" in message


def test_prefix_names_the_config_section() -> None:
    with pytest.raises(ConfigError, match=r"'regularizers\.uniformity\.include_diag'.*include_diagonal"):
        create("regularizer", {"name": "uniformity", "include_diag": True}, prefix="regularizers.uniformity")


def test_missing_name_lists_choices() -> None:
    with pytest.raises(ConfigError, match=r"masker\.name is missing; choose one of: .*random"):
        create("masker", {"ratio": 0.5})


@pytest.mark.parametrize("value", ["abc", True, [0.5], None])
def test_wrong_option_type_is_rejected(value: object) -> None:
    with pytest.raises(ConfigError, match=r"masker\.ratio=.* has the wrong type: expected float"):
        create("masker", {"name": "random", "ratio": value})


def test_option_values_are_coerced_to_annotations(local_names: list) -> None:
    seen: dict[str, object] = {}

    def factory(ratio: float = 0.5, sizes: tuple[int, ...] = (1,), count: int = 1) -> RandomMasker:
        seen.update(ratio=ratio, sizes=sizes, count=count)
        return RandomMasker(ratio)

    local_names.append(("masker", "test-coerce"))
    registry.register("masker", "test-coerce")(factory)
    create("masker", {"name": "test-coerce", "ratio": "0.25", "sizes": [2, 3]})
    assert seen["ratio"] == 0.25 and isinstance(seen["ratio"], float)  # YAML 1.1 reads 1e-3 as a string
    assert seen["sizes"] == (2, 3) and isinstance(seen["sizes"], tuple)
    with pytest.raises(ConfigError, match=r"masker\.count=1\.5 has the wrong type: expected int"):
        create("masker", {"name": "test-coerce", "count": 1.5})
    with pytest.raises(ConfigError, match=r"masker\.sizes\[1\]"):
        create("masker", {"name": "test-coerce", "sizes": [2, "x"]})


def test_factory_value_errors_become_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"masker \(masker 'random'\): mask ratio must be in \(0, 1\)"):
        create("masker", {"name": "random", "ratio": 1.5})


def test_injected_arguments_are_passed_and_cannot_be_configured(local_names: list) -> None:
    class Sized(RandomMasker):
        def __init__(self, num_tokens: int, ratio: float = 0.5) -> None:
            super().__init__(ratio)
            self.num_tokens = num_tokens

    local_names.append(("masker", "test-sized"))
    register_masker("test-sized")(Sized)
    masker = create("masker", {"name": "test-sized", "ratio": 0.6}, num_tokens=49)
    assert masker.num_tokens == 49 and masker.ratio == 0.6
    with pytest.raises(ConfigError, match=r"masker\.num_tokens is set by the modality .* cannot be configured"):
        create("masker", {"name": "test-sized", "num_tokens": 16}, num_tokens=49)
    with pytest.raises(ConfigError) as info:
        create("masker", {"name": "test-sized", "num_token": 16}, num_tokens=49)
    assert "valid keys: ratio." in str(info.value)  # injected keys are not offered
    with pytest.raises(ConfigError, match=r"masker 'random' must accept the argument\(s\) num_tokens"):
        create("masker", {"name": "random"}, num_tokens=49)


def test_kwargs_factories_accept_any_key(local_names: list) -> None:
    def loose(**options: object) -> RandomMasker:
        masker = RandomMasker(0.5)
        masker.options = options  # type: ignore[attr-defined]
        return masker

    local_names.append(("masker", "test-loose"))
    registry.register("masker", "test-loose")(loose)
    assert create("masker", {"name": "test-loose", "anything": 1}).options == {"anything": 1}


def test_two_distributions_registering_one_name_warn_and_the_first_wins(tmp_path: Path) -> None:
    info = tmp_path / "dupe_masks-0.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dupe-masks\nVersion: 0.2\n")
    (info / "entry_points.txt").write_text("[maskssl.maskers]\nrandom = dupe_masks:Random\n")
    sys.path.append(str(tmp_path))  # after maskssl's own site-packages
    importlib.invalidate_caches()
    try:
        with pytest.warns(UserWarning, match=r"masker 'random' is registered by two distributions: maskssl 0\.1\.0 "
                                             r"\(maskssl\.maskers:RandomMasker\) and dupe-masks 0\.2"):
            chosen = entries("masker")["random"]
    finally:
        sys.path.remove(str(tmp_path))
        importlib.invalidate_caches()
    assert chosen.distribution == "maskssl"


def test_missing_requirements_come_from_metadata(tmp_path: Path) -> None:
    info = tmp_path / "needy_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: needy-plugin\nVersion: 0.1\nRequires-Dist: torch>=2\n"
        "Requires-Dist: no-such-package-xyz (>=1.0)\nRequires-Dist: other-missing-xyz; extra == 'h5'\n"
    )
    sys.path.append(str(tmp_path))
    importlib.invalidate_caches()
    try:
        assert registry.missing_requirements("needy-plugin") == ["no-such-package-xyz"]
    finally:
        sys.path.remove(str(tmp_path))
        importlib.invalidate_caches()
    assert registry.missing_requirements("maskssl") == []


def test_a_modality_whose_name_differs_from_its_registration_is_named(local_names: list[tuple[str, str]]) -> None:
    from maskssl.build import build_modality
    from maskssl.config.load import load_config
    from tests.toy import ToyModality

    registry.register("modality", "toy_alias")(ToyModality)
    local_names.append(("modality", "toy_alias"))
    with pytest.raises(ConfigError, match=r"registered as 'toy_alias' .*calls itself 'toy': set its class attribute"):
        build_modality(load_config("toy_alias"))


def test_a_bug_in_a_constructor_keeps_its_type_and_traceback_with_a_note(local_names: list[tuple[str, str]]) -> None:
    class Buggy(RandomMasker):
        def __init__(self, ratio: float = 0.75, cells: int = 2) -> None:
            super().__init__(ratio)
            self.width = 1 / (cells - 2)  # a plugin bug at the default, not a config mistake

    register_masker("test-buggy")(Buggy)
    local_names.append(("masker", "test-buggy"))
    with pytest.raises(ZeroDivisionError) as caught:
        create("masker", {"name": "test-buggy", "ratio": 0.5})
    assert not isinstance(caught.value, ConfigError)
    assert "while building masker = masker 'test-buggy'" in "\n".join(caught.value.__notes__)
    assert "{'name': 'test-buggy', 'ratio': 0.5}" in "\n".join(caught.value.__notes__)


def test_a_components_own_check_of_its_options_is_a_config_error_naming_the_section() -> None:
    with pytest.raises(ConfigError, match=r"masker \(masker 'random'\): mask ratio must be in \(0, 1\)"):
        create("masker", {"name": "random", "ratio": 1.5})
