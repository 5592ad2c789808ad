"""maskssl.config.run: dotted overrides, precedence, strict keys and types, YAML files in and out."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskssl.config.run import RunConfig, TrainConfig, from_mapping, parse_overrides, resolve
from maskssl.config.yaml_files import deep_merge, load_yaml, save_yaml
from maskssl.errors import ConfigError

# ---- parse_overrides -------------------------------------------------------------------------------------------


def test_overrides_nest_and_parse_values_as_yaml() -> None:
    parsed = parse_overrides(
        [
            "train.epochs=5",
            "train.lr=0.001",
            "masker.name=block",
            "masker.ratio=0.6",
            "train.betas=[0.9, 0.99]",
            "train.clip_grad=null",
            "views=2",
            "data.root=/data/a=b",  # only the first '=' separates
            "data.download=false",
            "data.empty=",
            "regularizers.uniformity.weight=0.01",
        ]
    )
    assert parsed == {
        "train": {"epochs": 5, "lr": 0.001, "betas": [0.9, 0.99], "clip_grad": None},
        "masker": {"name": "block", "ratio": 0.6},
        "views": 2,
        "data": {"root": "/data/a=b", "download": False, "empty": ""},
        "regularizers": {"uniformity": {"weight": 0.01}},
    }
    assert type(parsed["train"]["epochs"]) is int and type(parsed["masker"]["ratio"]) is float


def test_later_override_of_the_same_key_wins() -> None:
    assert parse_overrides(["train.epochs=5", "train.epochs=7"]) == {"train": {"epochs": 7}}
    assert parse_overrides([]) == {}


@pytest.mark.parametrize(
    "item", ["train.epochs", "=5", ".epochs=5", "train.=5", "train..epochs=5", "", "epochs:5"]
)
def test_malformed_override_items(item: str) -> None:
    with pytest.raises(ConfigError, match=r"is not of the form key=value \(for example train\.epochs=5\)"):
        parse_overrides([item])


@pytest.mark.parametrize("item", ["train.betas=[0.9, 0.99", "data.root={a: 1", "data.x=a: b: c", "data.x=\x01"])
def test_override_values_that_are_not_yaml(item: str) -> None:
    with pytest.raises(ConfigError, match="the value is not valid YAML"):
        parse_overrides([item])


def test_override_conflicting_with_a_scalar_override() -> None:
    with pytest.raises(ConfigError, match="conflicts with an earlier override of 'train'"):
        parse_overrides(["train=5", "train.epochs=3"])


# ---- resolve: precedence, keys, types ------------------------------------------------------------------------


def test_defaults() -> None:
    config = resolve({}, {}, {})
    assert config == RunConfig()
    assert config.masker == {"name": "random", "ratio": 0.75} and config.train.epochs == 10


def test_precedence_defaults_recipe_file_overrides() -> None:
    recipe = {"train": {"epochs": 2, "batch_size": 8, "blr": 1e-3}, "masker": {"ratio": 0.6}}
    file_values = {"train": {"epochs": 3, "batch_size": 16}}
    overrides = {"train": {"epochs": 4}}
    config = resolve(recipe, file_values, overrides)
    assert config.train.epochs == 4  # override beats file
    assert config.train.batch_size == 16  # file beats recipe
    assert config.train.blr == 1e-3  # recipe beats default
    assert config.train.weight_decay == 0.05  # default kept
    assert config.masker == {"name": "random", "ratio": 0.6}  # sections merge key by key
    assert resolve(recipe, file_values, {}).train.epochs == 3
    assert resolve(recipe, {}, {}).train.epochs == 2
    assert resolve({}, {}, {}).train.epochs == 10
    assert recipe == {"train": {"epochs": 2, "batch_size": 8, "blr": 1e-3}, "masker": {"ratio": 0.6}}  # untouched


def test_resolve_from_parsed_overrides() -> None:
    config = resolve({}, {}, parse_overrides(["train.lr=1e-3", "masker.name=block", "train.betas=[0.8, 0.9]"]))
    assert config.train.lr == 0.001 and isinstance(config.train.lr, float)  # YAML 1.1 gives the string '1e-3'
    assert config.masker == {"name": "block", "ratio": 0.75}
    assert config.train.betas == (0.8, 0.9)


def test_unknown_nested_key_names_it_lists_valid_keys_and_suggests() -> None:
    with pytest.raises(ConfigError) as info:
        resolve({}, {}, {"train": {"epohcs": 5}})
    message = str(info.value)
    assert "unknown config key 'train.epohcs'" in message
    assert "valid keys: epochs, max_steps, batch_size" in message and "seed" in message
    assert "Did you mean 'train.epochs'?" in message


def test_unknown_top_level_key() -> None:
    with pytest.raises(ConfigError) as info:
        resolve({}, {"viwes": 2}, {})
    message = str(info.value)
    assert "'viwes'" in message and "modality, data, model" in message and "Did you mean 'views'?" in message
    with pytest.raises(ConfigError) as far:
        resolve({}, {"qqqq": 1}, {})
    assert "Did you mean" not in str(far.value)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"train": {"epochs": "abc"}}, "train.epochs='abc'"),
        ({"train": {"batch_size": 1.5}}, "train.batch_size=1.5"),
        ({"train": {"epochs": True}}, "train.epochs=True"),  # bool is not an int here
        ({"train": {"max_steps": 2.5}}, "train.max_steps=2.5"),
        ({"train": {"lr": "fast"}}, "train.lr='fast'"),
        ({"train": {"clip_grad": [1.0]}}, "train.clip_grad=[1.0]"),
        ({"views": "two"}, "views='two'"),
        ({"masker": "random"}, "masker='random'"),
        ({"data": None}, "data=None"),
    ],
)
def test_wrong_types(overrides: dict, key: str) -> None:
    with pytest.raises(ConfigError, match="has the wrong type") as info:
        resolve({}, {}, overrides)
    assert key in str(info.value)


def test_literal_and_tuple_length_errors() -> None:
    with pytest.raises(ConfigError, match=r"train\.precision='fp64' is not allowed; choose one of 'auto'"):
        resolve({}, {}, {"train": {"precision": "fp64"}})
    with pytest.raises(ConfigError, match=r"train\.betas needs 2 values, got 3"):
        resolve({}, {}, {"train": {"betas": [0.9, 0.95, 0.99]}})
    with pytest.raises(ConfigError, match=r"train\.betas\[1\]='x' has the wrong type"):
        resolve({}, {}, {"train": {"betas": [0.9, "x"]}})


def test_section_that_is_not_a_mapping() -> None:
    with pytest.raises(ConfigError, match="train must be a mapping"):
        resolve({}, {"train": 5}, {})


def test_int_to_float_and_list_to_tuple_coercion() -> None:
    config = resolve({}, {"train": {"lr": 1, "blr": 2, "betas": [0, 0]}, "reconstruction_weight": 3}, {})
    assert config.train.lr == 1.0 and type(config.train.lr) is float
    assert type(config.train.blr) is float and type(config.reconstruction_weight) is float
    assert config.train.betas == (0.0, 0.0) and type(config.train.betas) is tuple
    assert all(type(b) is float for b in config.train.betas)
    assert resolve({}, {"train": {"lr": None, "max_steps": None}}, {}).train.lr is None


def test_regularizers_need_a_numeric_weight() -> None:
    config = resolve({}, {}, {"regularizers": {"uniformity": {"weight": 0.01, "include_diagonal": False}}})
    assert config.regularizers == {"uniformity": {"weight": 0.01, "include_diagonal": False}}
    with pytest.raises(ConfigError, match=r"regularizers\.uniformity needs a weight, e\.g\. regularizers\.uniformity"):
        resolve({}, {}, {"regularizers": {"uniformity": {"include_diagonal": False}}})
    with pytest.raises(ConfigError, match=r"regularizers\.uniformity\.weight='heavy' has the wrong type"):
        resolve({}, {}, {"regularizers": {"uniformity": {"weight": "heavy"}}})


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"views": 0}, "views=0"),
        ({"train": {"epochs": 0}}, r"train\.epochs=0 must be at least 1"),
        ({"train": {"batch_size": -1}}, r"train\.batch_size=-1"),
        ({"train": {"max_steps": 0}}, r"train\.max_steps=0"),
        ({"train": {"warmup_epochs": -1}}, "cannot be negative"),
    ],
)
def test_out_of_range_values(overrides: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        resolve({}, {}, overrides)


def test_from_mapping_builds_the_dataclass() -> None:
    train = from_mapping(TrainConfig, {"epochs": 3, "betas": [0.5, 0.6]}, "train")
    assert train == TrainConfig(epochs=3, betas=(0.5, 0.6))


def test_deep_merge_does_not_mutate_its_inputs() -> None:
    base = {"a": {"b": 1, "c": [1]}, "d": 1}
    update = {"a": {"b": 2}, "e": {"f": 3}}
    merged = deep_merge(base, update)
    assert merged == {"a": {"b": 2, "c": [1]}, "d": 1, "e": {"f": 3}}
    merged["a"]["c"].append(2)
    merged["e"]["f"] = 4
    assert base == {"a": {"b": 1, "c": [1]}, "d": 1} and update == {"a": {"b": 2}, "e": {"f": 3}}


# ---- YAML files ------------------------------------------------------------------------------------------------


def test_load_yaml_reads_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text("modality: image\ntrain:\n  epochs: 3\n  lr: 1.0e-3\n")
    assert load_yaml(path) == {"modality": "image", "train": {"epochs": 3, "lr": 0.001}}
    assert load_yaml(str(path)) == load_yaml(path)


def test_load_yaml_empty_file_is_empty_mapping(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing here\n")
    assert load_yaml(path) == {}


def test_load_yaml_malformed_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("modality: image\ntrain:\n  epochs: 3\n  betas: [0.9, 0.95\nviews: 2\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    message = str(info.value)
    assert str(path) in message and "is not valid YAML at line 5" in message
    bad_indent = tmp_path / "indent.yaml"
    bad_indent.write_text("a: 1\nb: 2\n  c: 3\n")
    with pytest.raises(ConfigError, match="at line 3, column"):
        load_yaml(bad_indent)


def test_load_yaml_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file '.*nope\.yaml' does not exist"):
        load_yaml(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a directory; pass a YAML file in it"):  # a directory is not a recipe
        load_yaml(tmp_path)


@pytest.mark.parametrize("text", ["- train\n- epochs\n", "5\n", "just a string\n"])
def test_load_yaml_non_mapping(tmp_path: Path, text: str) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="must hold a mapping of sections"):
        load_yaml(path)


def test_save_yaml_round_trip(tmp_path: Path) -> None:
    config = resolve(
        {},
        {"modality": "toy", "data": {"root": "/data", "sizes": [1, 2]}, "views": 2},
        {
            "train": {"betas": [0.8, 0.9], "lr": 0.5, "precision": "fp32"},
            "regularizers": {"uniformity": {"weight": 0.01}},
        },
    )
    path = tmp_path / "config.yaml"
    save_yaml(config.to_dict(), path)
    text = path.read_text()
    assert "!!python" not in text and "tuple" not in text  # plain YAML, loadable with safe_load
    assert text.index("modality") < text.index("train")  # field order kept
    loaded = load_yaml(path)
    assert loaded["train"]["betas"] == [0.8, 0.9]
    assert resolve({}, loaded, {}) == config
