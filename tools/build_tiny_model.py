"""Build the tiny TorchScript pass-through model shipped in ``conformance/assets/``.

Why: provisioning needs a PyTorch model that a real Elasticsearch cluster accepts and can
deploy with almost no memory, and the reference server needs the same bytes so that one
set-up works against both. Elasticsearch's own tests deploy a TorchScript trace whose
``forward(input_ids, token_type_ids, position_ids, inputs_embeds)`` returns ones of shape
``(batch, 2)`` (elasticsearch-behaviour.md §5.3). This script builds our own module with
that contract, so the artefact is reproducible from the repository rather than copied.

The suite and the reference server never import torch: only this script needs it.

Run from the repository root (torch belongs in a throwaway environment, never in the
project's dependencies)::

    pip install torch==2.13.0 && python tools/build_tiny_model.py

The script writes ``conformance/assets/tiny_model.pt``, loads it back with
``torch.jit.load`` and checks that it answers ones of shape ``(batch, 2)`` for several
batch sizes, then prints the size and sha256 of the artefact.
"""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import torch

REQUIRED_TORCH_VERSION = "2.13.0"
ARTEFACT = Path(__file__).resolve().parent.parent / "conformance" / "assets" / "tiny_model.pt"

# Fixed tracing inputs: tracing records operations, not values, but fixed inputs keep the
# build free of any randomness. Two sequences of four token ids each.
TRACE_BATCH_SIZE = 2
TRACE_SEQUENCE_LENGTH = 4
CHECK_BATCH_SIZES = (1, 3, 7)


class PassThroughOnes(torch.nn.Module):
    """Ignores its inputs and answers ``[[1.0, 1.0]] * batch``.

    The four arguments are the ones Elasticsearch's pass-through BERT tokenization feeds a
    TorchScript model; only the batch size of ``input_ids`` is used.
    """

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor,
        position_ids: torch.Tensor,
        inputs_embeds: torch.Tensor,
    ) -> torch.Tensor:
        return torch.ones((input_ids.size()[0], 2))


def trace_inputs(batch_size: int) -> tuple[torch.Tensor, ...]:
    """Deterministic token ids, and zeros for the three inputs the model ignores."""
    input_ids = torch.arange(batch_size * TRACE_SEQUENCE_LENGTH, dtype=torch.long).reshape(
        batch_size, TRACE_SEQUENCE_LENGTH
    )
    unused = torch.zeros((batch_size, TRACE_SEQUENCE_LENGTH), dtype=torch.long)
    return input_ids, unused, unused, unused


def forget_source_locations(traced: torch.jit.ScriptModule) -> None:
    """Blank the Python source location the tracer recorded on every graph node.

    The tracer stores the full Python call stack of each traced operation (absolute paths
    of this script and of the installed torch files, with line numbers) and the archive
    saves it as ``code/*.debug_pkl``. Left in, the artefact would change with the checkout
    and virtualenv location and would leak local paths. Copying the metadata of a fresh,
    never-traced node onto each node leaves an empty source range instead.
    """
    graph = traced.graph
    blank = graph.create("prim::Constant")
    for node in graph.nodes():
        node.copyMetadata(blank)
    graph.return_node().copyMetadata(blank)


def build_archive() -> bytes:
    """Trace the module and serialise it to an in-memory TorchScript archive.

    Saving to a buffer (not to a path) keeps the archive's inner folder name fixed
    (``archive/``) whatever the output file is called. ``_store_inputs=False`` keeps the
    example inputs out of the archive: they are not part of the model's contract.
    """
    traced = torch.jit.trace(PassThroughOnes().eval(), trace_inputs(TRACE_BATCH_SIZE), _store_inputs=False)
    forget_source_locations(traced)
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    return buffer.getvalue()


def check_archive(archive: bytes) -> None:
    """Load the archive back and require ones of shape ``(batch, 2)`` for other batches.

    Other batch sizes than the traced one prove the batch dimension is read from the input
    and not frozen into the trace as a constant.
    """
    loaded = torch.jit.load(io.BytesIO(archive))
    for batch_size in CHECK_BATCH_SIZES:
        output = loaded(*trace_inputs(batch_size))
        if output.shape != (batch_size, 2) or not torch.equal(output, torch.ones((batch_size, 2))):
            raise SystemExit(f"model answered {output!r} for batch {batch_size}, expected ones of ({batch_size}, 2)")


def main() -> int:
    if torch.__version__.split("+")[0] != REQUIRED_TORCH_VERSION:
        print(
            f"warning: built with torch {torch.__version__}, the checked-in artefact uses "
            f"{REQUIRED_TORCH_VERSION}; bytes may differ",
            file=sys.stderr,
        )
    archive = build_archive()
    check_archive(archive)
    ARTEFACT.write_bytes(archive)
    print(f"{ARTEFACT}: {len(archive)} bytes, sha256 {hashlib.sha256(archive).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
