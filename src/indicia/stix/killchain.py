"""Kill chain phases: the Lockheed Martin Cyber Kill Chain and the MITRE ATT&CK Enterprise tactics.

Both are written as STIX 2.1 ``kill_chain_phases`` entries (section 4.2: ``kill_chain_name`` and
``phase_name``, lower case with hyphens).
"""

from __future__ import annotations

from indicia.errors import StixError

__all__ = [
    "LOCKHEED",
    "LOCKHEED_PHASES",
    "MITRE",
    "MITRE_TACTICS",
    "kill_chain_phase",
    "parse_kill_chain",
]

LOCKHEED = "lockheed-martin-cyber-kill-chain"
MITRE = "mitre-attack"

LOCKHEED_PHASES: tuple[str, ...] = (
    "reconnaissance",
    "weaponization",
    "delivery",
    "exploitation",
    "installation",
    "command-and-control",
    "actions-on-objectives",
)

# The x_mitre_shortname of each Enterprise tactic, in the order of the Enterprise matrix's
# tactic_refs (ATT&CK data: x-mitre-matrix--eafc1b4c-5e56-4965-bd4e-66a6a89c88cc).
MITRE_TACTICS: tuple[str, ...] = (
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
)

_CHAINS = {LOCKHEED: LOCKHEED_PHASES, MITRE: MITRE_TACTICS}
_ALIASES = {
    "lockheed": LOCKHEED,
    "lockheed-martin": LOCKHEED,
    "lm": LOCKHEED,
    "ckc": LOCKHEED,
    "mitre": MITRE,
    "attack": MITRE,
    "att&ck": MITRE,
    "mitre-att&ck": MITRE,
}


def parse_kill_chain(spec: str) -> dict[str, str]:
    """Turn ``"chain:phase"`` (``lockheed:delivery``, ``mitre-attack:execution``) into a phase."""
    chain, sep, phase = spec.partition(":")
    if not sep:
        raise StixError(
            f"{spec!r} is not 'chain:phase'; chains: {', '.join(_CHAINS)}",
            field="kill_chain_phases",
        )
    return kill_chain_phase(chain, phase)


def kill_chain_phase(chain: str, phase: str) -> dict[str, str]:
    """Return the STIX kill_chain_phases entry for ``phase`` of ``chain``, both checked."""
    key = chain.strip().lower().replace(" ", "-")
    name = _ALIASES.get(key, key)
    phases = _CHAINS.get(name)
    if phases is None:
        valid = ", ".join(sorted(set(_CHAINS) | set(_ALIASES)))
        raise StixError(f"unknown kill chain {chain!r}; valid: {valid}", field="kill_chain_phases")

    phase_name = phase.strip().lower().replace(" ", "-").replace("_", "-")
    if phase_name not in phases:
        raise StixError(
            f"unknown phase {phase!r} of {name}; valid: {', '.join(phases)}",
            field="kill_chain_phases",
        )
    return {"kill_chain_name": name, "phase_name": phase_name}
