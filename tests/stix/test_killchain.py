"""Kill chains: Lockheed Martin phases and ATT&CK Enterprise tactics, as in the ATT&CK data."""

from __future__ import annotations

import pytest
from stix_testdata import STIX_DATA, bundle_objects

from indicia.errors import StixError
from indicia.stix import LOCKHEED, LOCKHEED_PHASES, MITRE, MITRE_TACTICS, parse_kill_chain


def test_mitre_tactics_follow_the_enterprise_matrix() -> None:
    folder = STIX_DATA / "attack"
    (matrix,) = bundle_objects(next(folder.glob("x-mitre-matrix--*.json")))
    shortnames = {}
    for path in folder.glob("x-mitre-tactic--*.json"):
        (tactic,) = bundle_objects(path)
        shortnames[tactic["id"]] = tactic["x_mitre_shortname"]

    assert len(shortnames) == 14
    assert tuple(shortnames[ref] for ref in matrix["tactic_refs"]) == MITRE_TACTICS


def test_lockheed_has_seven_phases() -> None:
    assert len(LOCKHEED_PHASES) == 7
    assert LOCKHEED_PHASES[0] == "reconnaissance"
    assert LOCKHEED_PHASES[-1] == "actions-on-objectives"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("lockheed:reconnaissance", (LOCKHEED, "reconnaissance")),
        ("lockheed-martin-cyber-kill-chain:delivery", (LOCKHEED, "delivery")),
        ("Lockheed:Command and Control", (LOCKHEED, "command-and-control")),
        ("mitre-attack:initial-access", (MITRE, "initial-access")),
        ("mitre:credential_access", (MITRE, "credential-access")),
        ("attack:impact", (MITRE, "impact")),
    ],
)
def test_parse_kill_chain(spec: str, expected: tuple[str, str]) -> None:
    assert parse_kill_chain(spec) == {"kill_chain_name": expected[0], "phase_name": expected[1]}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("lockheed", "is not 'chain:phase'"),
        (
            "diamond:adversary",
            "unknown kill chain 'diamond'; valid: .*lockheed-martin-cyber-kill-chain",
        ),
        (
            "lockheed:initial-access",
            "unknown phase 'initial-access' of .*valid: reconnaissance, weaponization",
        ),
        (
            "mitre-attack:weaponization",
            "unknown phase .*valid: reconnaissance, resource-development",
        ),
    ],
)
def test_parse_kill_chain_errors_list_the_valid_values(spec: str, message: str) -> None:
    with pytest.raises(StixError, match=message):
        parse_kill_chain(spec)
