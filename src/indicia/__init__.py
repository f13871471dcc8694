"""Indicia: threat intelligence kept as STIX 2.1 and matched against security logs."""

__version__ = "0.1.0"
