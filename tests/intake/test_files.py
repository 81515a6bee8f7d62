import io

import openpyxl
import pytest

from disclosure.models import CreditRecord
from intake.models import BatchStatus
from intake.pipeline import FIELDS

from .conftest import HEADER, csv_bytes, penalty_row


def test_gb18030_with_chinese_headers(submit):
    header = [next(f.zh for f in FIELDS if f.name == name) for name in HEADER]
    data = csv_bytes([penalty_row(1)], header=header).decode().replace(",".join(header), ",".join(header))
    rows = [header, [penalty_row(1)[name] for name in HEADER]]
    text = "\r\n".join(",".join(row) for row in rows) + "\r\n"
    batch = submit(text.encode("gb18030"))
    assert (batch.status, batch.encoding, batch.created) == (BatchStatus.IMPORTED, "gb18030", 1)
    assert CreditRecord.objects.get().facts == "未按规定公示年度报告。"
    assert data


def test_utf8_with_a_byte_order_mark(submit):
    batch = submit(b"\xef\xbb\xbf" + csv_bytes([penalty_row(1)]))
    assert (batch.status, batch.encoding) == (BatchStatus.IMPORTED, "utf-8")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("é".encode("latin-1").join([csv_bytes([penalty_row(1)])[:200]] * 3)
         + "Ä".encode("latin-1") + csv_bytes([penalty_row(1)])[200:],
         "The file's encoding is neither UTF-8 nor GB18030 (or it mixes them): save it as UTF-8 or GB18030 and submit it again."),
        (csv_bytes([penalty_row(1, revoke_reason="撤销")])[:-3],
         "The file ends in the middle of a character: it is truncated."),
        (b"%PDF-1.7 ...", "This is a PDF file, not a spreadsheet: submit CSV, XLSX or JSON lines."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "This is an old Excel (.xls) workbook: save it as .xlsx or CSV and submit it again."),
        (b"PK\x03\x04garbage", "The XLSX workbook is damaged or truncated, or it is not a workbook."),
        ("名称,金额\n甲,1\n".encode(), "Missing columns: 统一社会信用代码 (code) or 身份证号码 (id_number), 主体名称 (entity_name), 目录项编码 "
         "(catalog_item), 决定文书号 (decision_number), 决定日期 (decision_date), 事实 (facts), 依据 (legal_basis_cited), "
         "结果 (outcome). Unknown columns: 名称. Use the template's headers, in Chinese or in English."),
        ("\ufeff".encode() + "\u0000".encode(), "The file holds binary data: submit CSV, XLSX or JSON lines."),
    ],
    ids=["latin1", "truncated-utf8", "pdf", "xls", "broken-xlsx", "wrong-columns", "binary"],
)
def test_a_broken_file_is_refused_with_a_clear_message_and_writes_nothing(submit, english, data, message):
    batch = submit(data)
    assert (batch.status, batch.file_error) == (BatchStatus.REJECTED, message)
    assert CreditRecord.objects.count() == 0


def test_a_truncated_csv_row_is_a_row_error(submit, english):
    data = csv_bytes([penalty_row(1), penalty_row(2)])
    batch = submit(data[:-12])  # the last row loses its last cells
    assert batch.status == BatchStatus.REJECTED
    assert [(e["line"], e["code"]) for e in batch.errors] == [(3, "unreadable")]
    assert CreditRecord.objects.count() == 0


def _xlsx(rows, header=HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_with_date_and_number_cells(submit):
    import datetime as dt

    row = penalty_row(1)
    cells = [row[name] for name in HEADER]
    cells[HEADER.index("decision_date")] = dt.datetime(2026, 6, 15)
    cells[HEADER.index("penalty_amount")] = 10000
    batch = submit(_xlsx([cells]), name="r.xlsx")
    assert (batch.status, batch.file_format, batch.created) == (BatchStatus.IMPORTED, "xlsx", 1)
    record = CreditRecord.objects.get()
    assert (record.decision_date, str(record.penalty_amount)) == (dt.date(2026, 6, 15), "10000.00")


def test_every_row_rule_names_line_column_and_reason(submit, english):
    rows = [
        penalty_row(1, code="9111000060003734"),
        penalty_row(2, catalog_item="tst-licence", valid_from="2026-06-15", valid_until="2026-01-01"),
        penalty_row(3, severity="严重", catalog_item="tst-licence", valid_from="2026-06-15", valid_until="2027-06-14"),
        penalty_row(4, decision_date="15/06/2026"),
        penalty_row(5, facts=""),
        penalty_row(6, entity_name="名" * 201),
        penalty_row(1, decision_number="京朝市监罚〔2026〕2号"),
        penalty_row(8, penalty_amount="12.345"),
        penalty_row(9, revoked="也许"),
        penalty_row(10, revoked="是"),
        penalty_row(11, catalog_item="tst-licence"),
    ]
    batch = submit(csv_bytes(rows))
    assert [(e["line"], e["column"], e["code"], e["message"]) for e in batch.errors] == [
        (2, "code", "code", "A Unified Social Credit Code has 18 characters; this one has 16."),
        (3, "valid_until", "validity", "“Valid until” must not be before “valid from”."),
        (4, "severity", "severity", "Records of the kind “Administrative licence” have no severity: leave it empty."),
        (5, "decision_date", "date", "“15/06/2026” is not a date: write YYYY-MM-DD."),
        (6, "facts", "required", "Required."),
        (7, "entity_name", "too_long", "At most 200 characters; this has 201."),
        (8, "decision_number", "duplicate", "The same decision number is on line 3."),
        (9, "penalty_amount", "amount", "“12.345” is not an amount in yuan (at most two decimals)."),
        (10, "revoked", "flag", "Write 是 or 否 (yes or no)."),
        (11, "revoke_reason", "required", "Give a reason: every change to a record is traceable."),
        (12, "valid_from", "validity", "Required for a Administrative licence."),
        (12, "valid_until", "validity", "Required for a Administrative licence."),
    ]
    assert batch.rows_refused == 11
    assert CreditRecord.objects.count() == 0
