"""The bank statement fixtures (tests/fixtures/bank, see its SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

BANK = Path(__file__).resolve().parent.parent / "fixtures" / "bank"
# Where they were copied from: shared/ beside the checkout (as CI lays it out), when it is there.
_ROOT = Path(__file__).resolve().parents[2]
SHARED = next(
    (
        p
        for p in (_ROOT.parent / "shared" / "fixtures" / "bank", Path("/work/shared/fixtures/bank"))
        if p.is_dir()
    ),
    _ROOT.parent / "shared" / "fixtures" / "bank",
)


def data(name: str) -> bytes:
    return (BANK / name).read_bytes()


def samples() -> list[str]:
    """Every bank's sample file (not our own ``made/`` ones, not the notes)."""
    return sorted(
        str(p.relative_to(BANK))
        for p in BANK.rglob("*")
        if p.is_file() and p.suffix != ".md" and "made" not in p.relative_to(BANK).parts
    )
