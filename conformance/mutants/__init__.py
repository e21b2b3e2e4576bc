"""Deliberately broken variants of the reference server, one defect each, for ``selftest``."""
