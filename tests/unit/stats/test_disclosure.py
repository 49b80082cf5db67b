"""Primary and secondary suppression, and a differencing attack that must fail."""

import random
from dataclasses import fields

from hypothesis import given, settings
from hypothesis import strategies as st

from survey_app.stats.disclosure import apply_disclosure_control
from survey_app.stats.estimates import COUNTS, MEASURES, Cell, estimate_table
from survey_app.stats.weighting import FrameTotal, SampledUnit, compute_weights


def domain_cells(domain, value, n_completed, n_failed, companies, failed_companies=None):
    """The five measures of one domain cell, with weight 10 per response."""
    frr = n_failed / n_completed if n_completed else None
    fc = companies if failed_companies is None else failed_companies

    def cell(measure, estimate, n, c):
        return Cell(domain, value, measure, estimate, estimate, estimate, n, c)

    return [
        cell("frr", frr, n_completed, companies),
        cell("share_not_filled", frr, n_completed, companies),
        cell("share_other_profile", 0.0 if n_completed else None, n_completed, companies),
        cell("failed", 10.0 * n_failed, n_failed, min(fc, n_failed)),
        cell("completed", 10.0 * n_completed, n_completed, companies),
    ]


def table(dimension, rows):
    """rows: value -> (n_completed, n_failed, companies). Returns (cells, totals)."""
    cells = [c for value, row in rows.items() for c in domain_cells(dimension, value, *row)]
    n_completed = sum(r[0] for r in rows.values())
    n_failed = sum(r[1] for r in rows.values())
    companies = sum(r[2] for r in rows.values())
    return cells, domain_cells("total", "Total", n_completed, n_failed, companies)


def by_key(cells):
    return {(c.domain, c.value, c.measure): c for c in cells}


def differencing_attack(published):
    """Every suppressed cell an attacker can pin down from the published cells.

    Uses the additive equations (cells of a dimension sum to the total, for each count measure)
    and the ratio identities inside a domain cell (failed = frr * completed,
    frr = share_not_filled + share_other_profile), iterated until nothing new is learnt.
    """
    known = {k for k, c in by_key(published).items() if not c.suppressed}
    suppressed = {k for k, c in by_key(published).items() if c.suppressed}
    dims = {c.domain for c in published if c.domain != "total"}
    pairs = {(c.domain, c.value) for c in published}
    learnt = True
    while learnt:
        learnt = False
        for measure in COUNTS:
            total = ("total", "Total", measure)
            for dim in dims:
                members = [k for k in by_key(published) if k[0] == dim and k[2] == measure]
                unknown = [k for k in [*members, total] if k not in known]
                if len(unknown) == 1:
                    known.add(unknown[0])
                    learnt = True
        for d, v in pairs:
            f, r, c = ((d, v, m) for m in ("failed", "frr", "completed"))
            nf, op = (d, v, "share_not_filled"), (d, v, "share_other_profile")
            for triple in ((f, r, c), (nf, op, r)):
                missing = [k for k in triple if k not in known]
                if len(missing) == 1:
                    known.add(missing[0])
                    learnt = True
    return suppressed & known


def test_primary_thresholds():
    cells, totals = table(
        "rar_area",
        {"a": (4, 2, 4), "b": (5, 5, 2), "c": (5, 5, 3), "d": (30, 10, 20), "e": (40, 12, 30)},
    )
    out = by_key(apply_disclosure_control(cells, totals))
    assert out[("rar_area", "a", "completed")].reason == "primary"  # n < 5
    assert out[("rar_area", "b", "completed")].reason == "primary"  # companies < 3
    assert not out[("rar_area", "c", "completed")].suppressed
    assert not out[("total", "Total", "frr")].suppressed
    assert out[("total", "Total", "completed")].estimate == 10.0 * 84


def test_secondary_suppresses_next_smallest_cell():
    cells, totals = table(
        "region", {"a": (50, 20, 40), "b": (30, 10, 25), "c": (4, 2, 4), "d": (20, 10, 15)}
    )
    out = by_key(apply_disclosure_control(cells, totals))
    assert out[("region", "c", "failed")].reason == "primary"
    # d is the smallest published cell (n = 20 completed, 10 failed)
    assert out[("region", "d", "failed")].reason == "secondary"
    assert out[("region", "d", "completed")].suppressed
    assert not out[("region", "a", "failed")].suppressed
    assert not out[("region", "b", "failed")].suppressed
    assert differencing_attack(list(out.values())) == set()


def test_share_is_suppressed_with_its_numerator_and_denominator():
    # 40 completed but only 2 failed: the failed count is primary, so FRR and completed go too,
    # else failed = FRR * completed would give it back.
    cells, totals = table("sector", {"public": (40, 2, 30), "private": (60, 20, 50)})
    out = by_key(apply_disclosure_control(cells, totals))
    assert out[("sector", "public", "failed")].reason == "primary"
    for measure in MEASURES:
        assert out[("sector", "public", measure)].suppressed
        # the only other cell of the dimension goes too (secondary)
        assert out[("sector", "private", measure)].reason == "secondary"
    assert differencing_attack(list(out.values())) == set()


def test_suppressed_cells_carry_no_numbers():
    cells, totals = table("region", {"a": (3, 1, 3), "b": (30, 10, 25), "c": (20, 5, 15)})
    for cell in apply_disclosure_control(cells, totals):
        if cell.suppressed:
            assert (cell.estimate, cell.ci_low, cell.ci_high) == (None, None, None)
            assert cell.n is None and cell.companies is None


def test_only_cell_of_a_dimension_suppresses_the_total():
    # A dimension with a single value equals the total; if that cell is suppressed (here by a
    # caller's earlier decision) the total must go as well.
    cells, totals = table("sector", {"private": (30, 10, 20)})
    cells = [c if c.measure != "frr" else Cell(**{**vars(c), "suppressed": True}) for c in cells]
    out = by_key(apply_disclosure_control(cells, totals))
    assert out[("total", "Total", "failed")].reason == "secondary"
    assert differencing_attack(list(out.values())) == set()


def test_output_has_no_company_fields():
    names = {f.name for f in fields(Cell)}
    assert not {"company_id", "company_ids", "company_name", "companies_list", "cvr"} & names


def synthetic_sample(seed=7):
    rng = random.Random(seed)
    areas = {f"RAR{i}": size for i, size in enumerate([60, 45, 30, 12, 6, 4, 3, 1])}
    sectors = ["public", "private"]
    outcomes = ["success"] * 6 + ["other_profile"] * 2 + ["not_filled"] * 2 + ["ongoing"]
    units = []
    for area, size in areas.items():
        for j in range(size):
            uid = f"{area}-{j}"
            units.append(
                SampledUnit(
                    unit_id=uid,
                    stratum="big" if size > 20 else "small",
                    selection_prob=0.2,
                    responded=True,
                    eligible=True,
                    outcome=rng.choice(outcomes),
                    company_id=f"co-{rng.randrange(40)}",
                    attributes={"rar_area": area, "sector": rng.choice(sectors)},
                )
            )
    big_n = sum(s for s in areas.values() if s > 20) * 5
    small_n = sum(s for s in areas.values() if s <= 20) * 5
    frame = {"big": FrameTotal(big_n, big_n), "small": FrameTotal(small_n, small_n)}
    return units, compute_weights(units, frame)


def test_differencing_attack_on_estimated_table_fails():
    units, weighting = synthetic_sample()
    area_cells, totals = estimate_table(units, weighting, "rar_area")
    sector_cells, _ = estimate_table(units, weighting, "sector")
    out = apply_disclosure_control([*area_cells, *sector_cells], totals)
    suppressed = [c for c in out if c.suppressed]
    assert any(c.reason == "primary" for c in suppressed)
    assert any(c.reason == "secondary" for c in suppressed)
    assert differencing_attack(out) == set()
    for dim in ("rar_area", "sector"):
        for measure in COUNTS:
            group = [c for c in out if c.domain == dim and c.measure == measure]
            hidden = sum(c.suppressed for c in group)
            assert hidden == 0 or hidden >= 2, (dim, measure)
    for cell in out:  # aggregates only: no identifiers leak
        assert not any(str(v).startswith("co-") for v in vars(cell).values())


row = st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40)).map(
    lambda r: (r[0], min(r[1], r[0]), min(r[2], r[0]))
)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=8))
def test_no_table_can_be_differenced(rows):
    cells, totals = table("dim", {f"v{i}": r for i, r in enumerate(rows)})
    out = apply_disclosure_control(cells, totals)
    assert differencing_attack(out) == set()
    for measure in COUNTS:
        group = [c for c in out if c.domain == "dim" and c.measure == measure]
        total_hidden = by_key(out)[("total", "Total", measure)].suppressed
        hidden = sum(c.suppressed for c in group) + int(total_hidden)
        assert hidden != 1
