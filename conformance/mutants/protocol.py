"""Protocol defects: the HTTP answer of ``_update`` lacks what Elasticsearch clients rely on (§10.4)."""

from __future__ import annotations

from conformance.mutants.base import Answer, Asked, Rewrite, mutant


@mutant(family="protocol", expects="shape.product-header")
class MissingProductHeader(Rewrite):
    """``_update`` answers lack ``X-Elastic-Product: Elasticsearch`` (official clients refuse them, §10.4)."""

    def answer(self, asked: Asked, answer: Answer) -> Answer:
        return answer.with_header("X-Elastic-Product", None) if asked.is_update else answer


@mutant(family="protocol", expects="shape.json-content-type")
class TextPlainContentType(Rewrite):
    """``_update`` answers are labelled ``text/plain`` although the body is JSON (§10.4)."""

    def answer(self, asked: Asked, answer: Answer) -> Answer:
        return answer.with_header("Content-Type", "text/plain; charset=utf-8") if asked.is_update else answer
