"""The pages as a reader sees them: poppler turns them into text and images. Images go to
var/screenshots/ (or $SCREENSHOT_DIR: `make screenshots` writes the README's)."""

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from disclosure.rules import Category, Severity
from reports import services
from reports.models import ReportKind
from tests.factories import CatalogItemFactory, CreditRecordFactory

PDFTOPPM = shutil.which("pdftoppm")
SCREENSHOT_DIR = Path(
    os.environ.get("SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "var" / "screenshots")
)
SITE = "https://credit.example.gov.cn"

pytestmark = pytest.mark.skipif(
    not PDFTOPPM and not os.environ.get("CI"),
    reason="poppler-utils is not installed (apt-get install poppler-utils)",
)


def poppler(tool: str, *args) -> str:
    return subprocess.run([tool, *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def busy_entity(entity, market, tax, frozen_today):
    """200 records: a serious-dishonesty listing, an abnormal-operation listing, licences,
    and penalties from two departments."""
    listing = CatalogItemFactory(provider=market, name="严重违法失信企业名单", name_en="Serious illegal and dishonest enterprises",
                                 category=Category.SERIOUS_DISHONESTY, severity=Severity.SERIOUS)  # fmt: skip
    abnormal = CatalogItemFactory(provider=market, name="经营异常名录", name_en="Abnormal operation",
                                  category=Category.ABNORMAL_OPERATION, severity=Severity.GENERAL)  # fmt: skip
    licence = CatalogItemFactory(provider=market, name="食品经营许可", name_en="Food business licence",
                                 category=Category.ADMINISTRATIVE_LICENCE, severity="")  # fmt: skip
    tax_penalty = CatalogItemFactory(provider=tax, name="税务行政处罚", name_en="Tax penalty")
    market_penalty = CatalogItemFactory(
        provider=market, name="行政处罚信息", name_en="Administrative penalty"
    )
    CreditRecordFactory(entity=entity, catalog_item=listing, decision_date=dt.date(2026, 5, 6),
                        outcome="列入严重违法失信名单", facts="提交虚假材料取得登记，情节严重。")  # fmt: skip
    CreditRecordFactory(entity=entity, catalog_item=abnormal, decision_date=dt.date(2026, 7, 1),
                        outcome="列入经营异常名录", facts="未按规定报送 2025 年度年度报告。")  # fmt: skip
    for n in range(8):
        CreditRecordFactory(entity=entity, catalog_item=licence, decision_date=dt.date(2025, 1, 1 + n),
                            valid_from=dt.date(2025, 1, 1 + n), valid_until=dt.date(2030, 1, 1 + n),
                            outcome="准予许可", facts=f"食品经营许可证 JY1110105{n:07d}")  # fmt: skip
    for n in range(190):
        item, department = (tax_penalty, tax) if n % 3 == 0 else (market_penalty, market)
        CreditRecordFactory(
            entity=entity, catalog_item=item, department=department,
            decision_number=f"京朝{'税' if item is tax_penalty else '市监'}处罚〔2026〕{n + 1}号",
            decision_date=dt.date(2026, 1, 1) + dt.timedelta(days=n), penalty_amount=1000 * (n + 1),
            outcome=f"罚款人民币{n + 1}千元", facts="未按规定公示年度报告，且在责令改正期限内未改正。",
        )  # fmt: skip
    return entity


def pages_text(path: Path) -> list[str]:
    return poppler("pdftotext", "-layout", str(path), "-").split("\f")[:-1]


def write_pdf(report, tmp_path) -> Path:
    path = tmp_path / f"{report.number}.pdf"
    path.write_bytes(report.pdf.read())
    return path


def test_a_200_record_report_stays_readable(busy_entity, tmp_path):
    report = services.report_issue(
        entity=busy_entity, kind=ReportKind.PUBLIC, language="zh-hans", site_url=SITE
    )
    assert len(report.record_versions) == 200
    path = write_pdf(report, tmp_path)

    pages = pages_text(path)
    total = len(pages)
    assert total >= 8
    for number, text in enumerate(pages, start=1):
        assert f"第 {number} 页 / 共 {total} 页" in text
        assert f"报告编号 {report.number}" in text
    record_pages = [text for text in pages if "京朝市监处罚〔2026〕" in text]
    assert len(record_pages) >= 6
    for text in record_pages:
        assert re.search(r"决定文书号 / 信息类别\s+部门\s+决定日期\s+内容\s+公示截止", text), text[:400]
    first = pages[0]
    assert "公共信用信息报告" in first
    assert "当前列入名单：严重失信主体名单; 经营异常名录。" in first

    fonts = poppler("pdffonts", str(path)).splitlines()[2:]
    assert fonts, "no font at all"
    for line in fonts:
        name, kind, emb = line.split()[0], line.split()[1], line.split()[-5]
        assert (kind, emb) == ("TrueType", "yes"), line
        assert "+WenQuanYiMicroHei" in name

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for page, name in ((1, "report-zh-1"), (3, "report-zh-records")):
        prefix = SCREENSHOT_DIR / name
        subprocess.run([PDFTOPPM, "-r", "80", "-f", str(page), "-l", str(page), "-singlefile", "-png",
                        str(path), str(prefix)], check=True)  # fmt: skip
        assert prefix.with_suffix(".png").stat().st_size > 20_000


def test_english_special_report_says_none_plainly(busy_entity, tmp_path):
    report = services.report_issue(
        entity=busy_entity, kind=ReportKind.SPECIAL, language="en", site_url=SITE,
        departments=["samr", "tax"], categories=[Category.SERIOUS_DISHONESTY, Category.KEY_ATTENTION],
        window_months=36,
    )  # fmt: skip
    path = write_pdf(report, tmp_path)
    text = " ".join("\n".join(pages_text(path)).split())  # lines joined: wrapping is the layout's
    assert "Special credit report" in text
    assert "Decided 2023-11-29 to 2026-11-28 (36 months)" in text
    assert "No such records: none decided from 2023-11-29 to 2026-11-28 is disclosed." in text
    assert "repaired information and information whose disclosure period has ended is no longer" in text
    assert len(report.record_versions) == 1  # the serious-dishonesty listing, in the market field
    prefix = SCREENSHOT_DIR / "report-special-en"
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run([PDFTOPPM, "-r", "80", "-f", "1", "-l", "1", "-singlefile", "-png", str(path), str(prefix)],
                   check=True)  # fmt: skip
