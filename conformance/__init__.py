"""deployment-conformance: a conformance suite and a reference server for
Elasticsearch's ``POST /_ml/trained_models/{model_id}/deployment/_update``.

Layout, one concern per module:

- ``target``, ``discovery``, ``provisioning``: reaching a server, learning what it is,
  creating (and always removing) the run's own models and deployments;
- ``exchange``, ``context``: the observed facts every rule is judged on;
- ``rules``: the catalogue of checks, each a pure function with an id, level and source;
- ``oracle``: an independent model of what an update must answer;
- ``contract``: the shipped contract document (``docs/contract.md``) that every ``§`` cites;
- ``suite``: the pytest modules that generate traffic, and the plugin that runs them;
- ``results``, ``report``: verdicts per rule and the JSON / JUnit / HTML writers;
- ``reference``: the embedded Elasticsearch-like server (the suite never imports it);
- ``mutants``: deliberately broken variants of the reference server, for ``selftest``;
- ``cli``: the ``deployment-conformance`` command.
"""

__version__ = "0.1.0"
