"""The tiny TorchScript pass-through model every run provisions, as package data.

Why: an update can only be tested on a started deployment, and a deployment needs a
model. Elasticsearch's own tests deploy a TorchScript trace that returns ones of shape
``(batch, 2)``, with a pass-through BERT configuration and a vocabulary holding ``[PAD]``
and ``[UNK]`` (elasticsearch-behaviour.md §5.3). This package ships our own build of such
a model (``tools/build_tiny_model.py``) so that the same four bodies provision the
reference server and a real cluster:

1. ``PUT _ml/trained_models/{id}`` with :attr:`TinyModel.config`;
2. ``PUT _ml/trained_models/{id}/vocabulary`` with ``{"vocabulary": TinyModel.vocabulary}``;
3. ``PUT _ml/trained_models/{id}/definition/0`` with :meth:`TinyModel.definition_part`
   (one part, ``total_definition_length`` = decoded bytes, §5.3 step 4).

The files are read through :mod:`importlib.resources`, so they are found from an
installed wheel as well as from a checkout. Torch is never needed to read them.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

__all__ = ["TinyModel", "tiny_model"]

_CONFIG_AND_VOCABULARY = "tiny_model.json"
_DEFINITION = "tiny_model.pt"

# Plain text: neither a zip nor a TorchScript archive, and the same on every run.
_BROKEN_DEFINITION = b"deployment-conformance: these bytes are not a TorchScript archive\n"


def _encoded_part(definition: bytes) -> dict[str, Any]:
    """The body of a single-part definition upload (§5.3 step 4)."""
    return {
        "total_definition_length": len(definition),
        "definition": base64.b64encode(definition).decode("ascii"),
        "total_parts": 1,
    }


@dataclass(frozen=True)
class TinyModel:
    """The bodies needed to create and deploy the tiny model.

    The instance is shared (see :func:`tiny_model`): treat ``config`` and ``vocabulary``
    as read-only and copy them before changing anything.
    """

    config: dict[str, Any]
    """Body of ``PUT _ml/trained_models/{id}``."""
    vocabulary: list[str]
    """Tokens for the body ``{"vocabulary": ...}`` of ``PUT _ml/trained_models/{id}/vocabulary``."""
    definition: bytes
    """The TorchScript archive (a zip), as built by ``tools/build_tiny_model.py``."""
    broken_definition: bytes
    """Bytes that are not a TorchScript archive, for the "never started" scenario.

    The upload only stores the decoded bytes, and the archive is first loaded when the
    deployment starts (inferred, not stated in the behaviour document). A deployment of
    these bytes is then expected never to reach ``started``, so ``_update`` on it answers
    409 ``cannot update deployment that is not in [started] state`` (§1.6 C.6).
    """

    def definition_part(self) -> dict[str, Any]:
        """Body of ``PUT _ml/trained_models/{id}/definition/0`` for the real model."""
        return _encoded_part(self.definition)

    def broken_definition_part(self) -> dict[str, Any]:
        """Body of ``PUT _ml/trained_models/{id}/definition/0`` for the broken definition."""
        return _encoded_part(self.broken_definition)


@cache
def tiny_model() -> TinyModel:
    """Load the shipped model once per process."""
    package = files(__name__)
    described = json.loads(package.joinpath(_CONFIG_AND_VOCABULARY).read_text(encoding="utf-8"))
    return TinyModel(
        config=described["config"],
        vocabulary=described["vocabulary"],
        definition=package.joinpath(_DEFINITION).read_bytes(),
        broken_definition=_BROKEN_DEFINITION,
    )
