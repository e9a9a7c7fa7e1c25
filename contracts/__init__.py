"""Data package: the provider contracts shipped with wan26 (installed as ``wan26_contracts``)."""
