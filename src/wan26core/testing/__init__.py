"""Testing toolkit: the pytest plugin (``wan26core.testing.plugin``) and the conformance kit for provider plugins."""
