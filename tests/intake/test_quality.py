import datetime as dt

from intake import selectors

from .conftest import csv_bytes, licence_row, penalty_row


def test_quality_counts_timeliness_in_working_days_and_refusals(client, submit, intake_department, english):
    # Today is Saturday 2026-11-28: a decision of Thursday 11-19 is 6 working days old,
    # one of 11-18 is 7, one of 11-17 is 8.
    submit(csv_bytes([
        penalty_row(1, decision_date="2026-11-19"), penalty_row(2, decision_date="2026-11-18"),
        penalty_row(3, decision_date="2026-11-17"), licence_row(4, decision_date="2026-11-19"),
    ]))  # fmt: skip
    submit(csv_bytes([penalty_row(5, code="bad")]))
    [row] = selectors.collection_quality(today=dt.date(2026, 11, 28))
    figures = row.figures
    assert (row.department, row.month) == (intake_department, "2026-11")
    assert (figures.received, figures.double_publicity, figures.on_time, figures.median_delay) == (4, 4, 3, 6.5)
    assert (figures.refused_rows, dict(figures.refusals)) == (1, {"code": 1})
    page = client.get("/en/quality/")
    assert page.status_code == 200
    assert "75.0%" in page.content.decode()
