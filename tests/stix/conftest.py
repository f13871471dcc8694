"""Shared fixtures for the stix tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def indicator() -> dict[str, Any]:
    """A typical valid STIX 2.1 indicator, fresh for each test."""
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
        "created": "2024-03-05T10:20:30.123Z",
        "modified": "2024-03-05T10:20:30.123Z",
        "name": "C2 server",
        "indicator_types": ["malicious-activity"],
        "pattern": "[ipv4-addr:value = '198.51.100.23']",
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": "2024-03-05T10:20:30Z",
        "labels": ["c2"],
        "confidence": 80,
        "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
        "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
        "x_indicia_severity": "high",
    }
