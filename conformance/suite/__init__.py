"""The conformance suite: pytest modules that generate traffic, and the plugin that runs them."""
