"""The shipped tiny model must be uploadable as-is to a real cluster (behaviour doc §5.3)."""

from __future__ import annotations

import base64
import io
import zipfile
from importlib.resources import files

import pytest

from conformance.assets import TinyModel, tiny_model

# The Elasticsearch test model decodes to 1630 bytes; ours must stay the same order.
MAX_DEFINITION_BYTES = 8 * 1024


@pytest.fixture(scope="module")
def model() -> TinyModel:
    return tiny_model()


def _archive_names(definition: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(definition)) as archive:
        assert archive.testzip() is None, "an archive member fails its CRC check"
        return archive.namelist()


def test_definition_is_a_torchscript_archive(model: TinyModel) -> None:
    names = _archive_names(model.definition)
    roots = {name.split("/", 1)[0] for name in names}
    assert len(roots) == 1, f"TorchScript keeps every record under one folder, got {roots}"
    (root,) = roots
    assert f"{root}/data.pkl" in names
    assert f"{root}/version" in names
    assert any(name.startswith(f"{root}/code/") and name.endswith(".py") for name in names)


def test_definition_is_a_few_kilobytes(model: TinyModel) -> None:
    assert 512 < len(model.definition) <= MAX_DEFINITION_BYTES


def test_definition_records_no_local_paths(model: TinyModel) -> None:
    with zipfile.ZipFile(io.BytesIO(model.definition)) as archive:
        contents = b"".join(archive.read(name) for name in archive.namelist())
    for local_path_marker in (b"site-packages", b"build_tiny_model.py", b"/tmp/", b"/home/"):
        assert local_path_marker not in contents


@pytest.mark.parametrize(
    ("part_of", "expected_bytes"),
    [
        (TinyModel.definition_part, lambda model: model.definition),
        (TinyModel.broken_definition_part, lambda model: model.broken_definition),
    ],
    ids=["definition", "broken_definition"],
)
def test_definition_part_is_one_complete_base64_part(model: TinyModel, part_of, expected_bytes) -> None:
    part = part_of(model)
    decoded = base64.b64decode(part["definition"], validate=True)
    assert decoded == expected_bytes(model)
    assert part["total_definition_length"] == len(decoded)
    assert part["total_parts"] == 1
    assert set(part) == {"total_definition_length", "definition", "total_parts"}


def test_config_is_a_pytorch_pass_through_without_special_tokens(model: TinyModel) -> None:
    assert model.config["model_type"] == "pytorch"
    assert model.config["description"]
    assert model.config["inference_config"] == {
        "pass_through": {"tokenization": {"bert": {"with_special_tokens": False}}}
    }


def test_vocabulary_has_the_tokens_the_bert_tokenizer_needs(model: TinyModel) -> None:
    assert model.vocabulary[:2] == ["[PAD]", "[UNK]"]
    assert all(isinstance(token, str) and token for token in model.vocabulary)
    assert len(set(model.vocabulary)) == len(model.vocabulary)


def test_broken_definition_is_deterministic_and_not_an_archive(model: TinyModel) -> None:
    assert model.broken_definition
    assert not zipfile.is_zipfile(io.BytesIO(model.broken_definition))
    assert model.broken_definition != model.definition
    tiny_model.cache_clear()
    try:
        assert tiny_model().broken_definition == model.broken_definition
    finally:
        tiny_model.cache_clear()


def test_loader_reads_package_data_through_importlib_resources() -> None:
    package = files("conformance.assets")
    assert package.joinpath("tiny_model.json").is_file()


def test_loader_is_cached(model: TinyModel) -> None:
    assert tiny_model() is tiny_model()
