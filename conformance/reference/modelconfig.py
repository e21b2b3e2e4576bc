"""What ``PUT _ml/trained_models/{id}`` makes of a model configuration before storing it.

Elasticsearch does not store a configuration as sent: it parses it into
``TrainedModelConfig`` (ES ``x-pack/plugin/core/.../ml/inference/TrainedModelConfig.java``),
which validates packaged-model ids, fills defaults such as the ``fill_mask`` mask token, and
keeps ``prefix_strings`` from 8.12. Client tests read those details back (§11.1), so the
reference applies the same rules here, apart from the handlers and the cluster.
"""

from __future__ import annotations

import re
from typing import Any

from conformance.reference import errors
from conformance.reference.errors import EsError
from conformance.reference.versions import Behaviour

_VALID_ID = re.compile(r"^[a-z0-9](?:[a-z0-9_\-.]*[a-z0-9])?$")
ID_LENGTH_LIMIT = 64
"""``MlStrings.ID_LENGTH_LIMIT``."""

MASK_TOKENS = {
    "bert": "[MASK]",
    "bert_ja": "[MASK]",
    "deberta_v2": "[MASK]",
    "roberta": "<mask>",
    "mpnet": "<mask>",
    "xlm_roberta": "<mask>",
}
"""Each tokenizer's ``getMaskToken()`` (ES ``BertTokenization``, ``RobertaTokenization``...);
a configuration without a tokenization gets BERT (``Tokenization.createDefault()``)."""

PACKAGE_FIELDS = ("description", "definition", "model_type", "metadata", "model_size_bytes", "inference_config")
"""Fields a packaged model's package defines, so a PUT may not set them
(``TrainedModelConfig.Builder.validateNoPackageOverrides``)."""


def is_packaged(model_id: str) -> bool:
    """``TrainedModelConfig.isPackagedModel()``: ids starting with ``.`` name Elastic's packages."""
    return model_id.startswith(".")


def check_model_id(model_id: str) -> None:
    """``TrainedModelConfig.Builder.validate(true)``: a packaged id is checked without its dot
    (and a ``_SNAPSHOT`` suffix), every other id as it is; both within 64 characters."""
    bare = model_id[1:].removesuffix("_SNAPSHOT") if is_packaged(model_id) else model_id
    if not _VALID_ID.match(bare) or len(model_id) > ID_LENGTH_LIMIT:
        raise errors.validation_failed(
            [
                f"Invalid model_id; '{model_id}' can contain lowercase alphanumeric (a-z and 0-9), hyphens or "
                "underscores; must start and end with alphanumeric"
            ]
        )


def stored_config(model_id: str, body: dict[str, Any], behaviour: Behaviour) -> dict[str, Any]:
    """The configuration as Elasticsearch keeps it, or the error its parser raises."""
    config = dict(body)
    if "prefix_strings" in config:
        config["prefix_strings"] = _prefix_strings(config["prefix_strings"], behaviour)
    if is_packaged(model_id):
        overrides = [
            f"illegal to set [{name}] at inference model creation for packaged model"
            for name in PACKAGE_FIELDS
            if name in config
        ]
        if config.get("tags"):
            overrides.append("illegal to set [tags] at inference model creation for packaged model")
        if overrides:
            raise errors.validation_failed(overrides)
        config["model_type"] = "pytorch"  # every package Elastic ships is a PyTorch model
        return config
    if not isinstance(config.get("inference_config"), dict):
        raise errors.validation_failed(["[inference_config] must not be null."])
    fill_mask = config["inference_config"].get("fill_mask")
    if isinstance(fill_mask, dict):
        config["inference_config"] = {**config["inference_config"], "fill_mask": _fill_mask(fill_mask)}
    return config


def tokenizer_name(task: dict[str, Any]) -> str:
    """The tokenization named in a task config (``bert`` when absent, as ``createDefault``)."""
    tokenization = task.get("tokenization")
    if isinstance(tokenization, dict) and len(tokenization) == 1:
        return str(next(iter(tokenization)))
    return "bert"


def _fill_mask(task: dict[str, Any]) -> dict[str, Any]:
    """``FillMaskConfig.Builder.build``: a requested mask token must be the tokenizer's;
    ``toXContent`` then always writes the tokenizer's token."""
    expected = MASK_TOKENS.get(tokenizer_name(task), "[MASK]")
    requested = task.get("mask_token")
    if requested is not None and requested != expected:
        # The YAML test's regex (`IllegalArgumentException. Mask token requested was ...`) matches
        # the Java class name in the reason: the parser wraps the exception with its text (§11.1).
        message = f"Mask token requested was [{requested}] but must be [{expected}] for this model"
        raise errors.x_content_parse(
            "[trained_model_config] failed to parse field [inference_config]",
            EsError(400, "illegal_argument_exception", f"java.lang.IllegalArgumentException: {message}"),
        )
    return {**task, "mask_token": expected}


def _prefix_strings(value: Any, behaviour: Behaviour) -> dict[str, str]:
    """``TrainedModelPrefixStrings`` (8.12+): an object of optional ``search`` / ``ingest`` strings."""
    if not behaviour.prefix_strings:
        raise errors.x_content_parse("[trained_model_config] unknown field [prefix_strings]")
    if not isinstance(value, dict):
        raise errors.x_content_parse("[trained_model_config] failed to parse field [prefix_strings]")
    unknown = sorted(set(value) - {"search", "ingest"})
    if unknown:
        raise errors.x_content_parse(f"[prefix_strings] unknown field [{unknown[0]}]")
    for key, text in value.items():
        if not isinstance(text, str):
            raise errors.x_content_parse(f"[prefix_strings] failed to parse field [{key}]")
    return {key: value[key] for key in ("search", "ingest") if key in value}
