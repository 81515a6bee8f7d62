"""The report as a PDF: A4, every glyph from one embedded TrueType font (a subset of
WenQuanYi Micro Hei, which covers all of GBK and Latin), so no reader needs a Chinese font.

Long reports stay readable: record tables repeat their heads on every page, and every page
carries the report number and "page n of N". The text is in the active language
(``translation.override`` around ``render``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache, partial
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from reportlab.graphics.barcode import qrencoder
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from disclosure.models import CreditRecord
from disclosure.rules import Category, Disclosure, Severity

from .selectors import CATEGORY_ORDER, LIST_CATEGORIES, ReportData

FONT = "ReportSans"
INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#52606d")
RULE = colors.HexColor("#9aa5b1")
HEAD_FILL = colors.HexColor("#e4e7eb")
ACCENT = colors.HexColor("#9b1c1c")
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN


def font_path() -> Path:
    if settings.REPORT_FONT:
        return Path(settings.REPORT_FONT)
    import paperang_p2_fonts_cjk

    return Path(paperang_p2_fonts_cjk.__file__).parent / "fonts" / "wqy-microhei.ttc"


@lru_cache(maxsize=1)
def register_font() -> str:
    """Parse the font once per process; each document embeds the subset it uses."""
    path = font_path()
    options = {"subfontIndex": 0} if path.suffix.lower() == ".ttc" else {}
    pdfmetrics.registerFont(TTFont(FONT, str(path), **options))
    return FONT


@lru_cache(maxsize=1)
def styles() -> dict[str, ParagraphStyle]:
    font = register_font()
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=13, textColor=INK, wordWrap="CJK")
    return {
        "base": base,
        "small": ParagraphStyle("small", base, fontSize=7.5, leading=10.5),
        "muted": ParagraphStyle("muted", base, fontSize=7.5, leading=10.5, textColor=MUTED),
        "cell": ParagraphStyle("cell", base, fontSize=8, leading=11),
        "head": ParagraphStyle("head", base, fontSize=8, leading=11, textColor=INK),
        "title": ParagraphStyle("title", base, fontSize=20, leading=28, alignment=TA_CENTER, spaceAfter=2),
        "subtitle": ParagraphStyle(
            "subtitle", base, fontSize=11, leading=16, alignment=TA_CENTER, textColor=MUTED
        ),
        "h1": ParagraphStyle(
            "h1", base, fontSize=13, leading=18, spaceBefore=10, spaceAfter=4, textColor=ACCENT
        ),
        "h2": ParagraphStyle("h2", base, fontSize=10.5, leading=15, spaceBefore=8, spaceAfter=2),
        "none": ParagraphStyle("none", base, fontSize=9, leading=13, leftIndent=4 * mm, textColor=MUTED),
    }


def _p(text, style="base") -> Paragraph:
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), styles()[style])


@dataclass(frozen=True)
class Issue:
    """What the report says about itself."""

    number: str
    title: str
    issued_at: dt.datetime
    verify_url: str
    certificate_sha256: str
    signer: str


def category_meaning(category: str) -> str:
    meanings = {
        Category.SERIOUS_DISHONESTY: _(
            "Entities a department has placed on a serious-dishonesty list under a law, an administrative "
            "regulation or a policy document of the central authorities. Listing brings joint disciplinary "
            "measures, for example in government procurement and bidding."
        ),
        Category.DISHONEST_JUDGMENT_DEBTOR: _(
            "Persons and entities a people's court has listed because they did not perform the obligations "
            "of an effective legal document although able to."
        ),
        Category.KEY_ATTENTION: _(
            "Entities placed under key attention for breaches of trust short of a serious-dishonesty listing; "
            "they are supervised more closely."
        ),
        Category.ABNORMAL_OPERATION: _(
            "Enterprises listed by market regulation, for example for not filing an annual report or not being "
            "reachable at their registered address."
        ),
        Category.RED_LIST: _(
            "Trustworthiness incentives: recognition of good credit by a department, shown for its period of "
            "validity."
        ),
        Category.ADMINISTRATIVE_PENALTY: _(
            "Administrative penalty decisions (warnings, fines, confiscation, suspension or revocation of "
            "licences and others), shown for the period the disclosure rules set for their severity."
        ),
        Category.ADMINISTRATIVE_LICENCE: _(
            "Administrative licences granted to the entity, shown for their period of validity."
        ),
        Category.CREDIT_COMMITMENT: _(
            "Credit commitments the entity made publicly, shown for their period of validity."
        ),
    }
    return meanings[category]


def _local(moment: dt.datetime) -> str:
    local = timezone.localtime(moment)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} (UTC{offset[:3]}:{offset[3:]})"


def _day(day: dt.date | None) -> str:
    return day.isoformat() if day else "—"


class _QrCode(Flowable):
    """A QR code drawn as filled rectangles (reportlab's widget would bring an unembedded
    standard font into the page resources)."""

    QUIET = 2  # modules of white border; the cell padding adds the rest

    def __init__(self, value: str, size: float):
        super().__init__()
        code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
        code.addData(value)
        code.make()
        self.modules = code.modules
        self.width = self.height = size

    def draw(self):
        count = len(self.modules)
        module = self.width / (count + 2 * self.QUIET)
        canvas = self.canv
        canvas.setFillColor(colors.black)
        for row, cells in enumerate(self.modules):
            y = self.height - (row + self.QUIET + 1) * module
            col = 0
            while col < count:
                if cells[col]:
                    start = col
                    while col < count and cells[col]:
                        col += 1
                    canvas.rect(
                        (start + self.QUIET) * module, y, (col - start) * module, module, stroke=0, fill=1
                    )
                else:
                    col += 1


def _grid(head_rows: int = 1) -> list:
    return [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.4, RULE),
        ("BACKGROUND", (0, 0), (-1, head_rows - 1), HEAD_FILL),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]


def _fields_table(rows: list[tuple[str, str]], widths) -> Table:
    table = Table([[_p(k, "head"), _p(v, "cell")] for k, v in rows], colWidths=widths)
    style = _grid(head_rows=0)
    style.append(("BACKGROUND", (0, 0), (0, -1), HEAD_FILL))
    table.setStyle(TableStyle(style))
    return table


def _amount(record: CreditRecord) -> str:
    if record.penalty_amount is None:
        return ""
    return _("%(amount)s yuan") % {"amount": f"{record.penalty_amount:,.2f}"}


def _content_cell(record: CreditRecord) -> list:
    outcome = record.outcome
    amount = _amount(record)
    if amount:
        outcome = f"{outcome} ({amount})"
    parts = [_p(outcome, "cell"), _p(record.facts, "small")]
    if record.legal_basis_cited:
        parts.append(_p(_("Basis: %(basis)s") % {"basis": record.legal_basis_cited}, "muted"))
    if record.valid_from or record.valid_until:
        parts.append(
            _p(
                _("Valid %(start)s to %(end)s")
                % {"start": _day(record.valid_from), "end": _day(record.valid_until)},
                "muted",
            )
        )
    return parts


RECORD_WIDTHS = [8 * mm, 40 * mm, 27 * mm, 19 * mm, CONTENT_WIDTH - 113 * mm, 19 * mm]


def _records_table(records: list[CreditRecord], *, with_category: bool = False) -> LongTable:
    head = [
        _p("#", "head"),
        _p(_("Decision document / kind"), "head"),
        _p(_("Department"), "head"),
        _p(_("Decision date"), "head"),
        _p(_("Content"), "head"),
        _p(_("Shown until"), "head"),
    ]
    rows = [head]
    for index, record in enumerate(records, start=1):
        kind = record.catalog_item.display_name
        if with_category:
            kind = f"{Category(record.catalog_item.category).label} · {kind}"
        severity = record.get_severity_display() if record.severity else ""
        first = [_p(record.decision_number, "cell"), _p(kind, "muted")]
        if severity:
            first.append(_p(_("Severity: %(severity)s") % {"severity": severity}, "muted"))
        rows.append(
            [
                _p(index, "cell"),
                first,
                _p(record.department.display_name, "cell"),
                _p(_day(record.decision_date), "cell"),
                _content_cell(record),
                _p(_day(record.disclosure_end), "cell"),
            ]
        )
    table = LongTable(rows, colWidths=RECORD_WIDTHS, repeatRows=1)
    table.setStyle(TableStyle(_grid()))
    return table


CHINESE_NUMERALS = "一二三四五六七八九"


def _heading(number: int, title: str) -> Paragraph:
    """A numbered section heading: 一、… in Chinese, 1. … in English."""
    if (get_language() or "").startswith("zh"):
        return _p(f"{CHINESE_NUMERALS[number - 1]}、{title}", "h1")
    return _p(f"{number}. {title}", "h1")


def _none(text: str) -> Paragraph:
    return _p(text, "none")


def _entity_section(data: ReportData) -> list:
    entity = data.entity
    rows = [(_("Name"), entity.name)]
    if entity.code:
        rows.append((_("Unified Social Credit Code"), entity.code))
        rows.append((_("Registration authority"), entity.registration_authority_name))
    else:
        rows.append((_("Identity number"), entity.id_number_masked))
    rows.append((_("Kind"), entity.get_kind_display()))
    if entity.region:
        rows.append((_("Region"), entity.region))
    if entity.legal_representative:
        rows.append((_("Legal representative"), entity.legal_representative))
    if data.former_names:
        names = "\n".join(
            _("%(name)s (until %(day)s)") % {"name": f.name, "day": _day(f.changed_on)}
            for f in data.former_names
        )
        rows.append((_("Former names"), names))
    return [_heading(1, _("Registration")), _fields_table(rows, [45 * mm, CONTENT_WIDTH - 45 * mm])]


def _issue_block(issue: Issue, data: ReportData) -> Table:
    rows = [
        (_("Report number"), issue.number),
        (_("Issued at"), _local(issue.issued_at)),
        (_("Records as disclosed on"), _day(data.disclosed_on)),
        (_("Feed cursor"), str(data.feed_cursor)),
    ]
    if data.scope.window_start:
        rows.append(
            (
                _("Window"),
                _("Decided %(start)s to %(end)s (%(months)s months)")
                % {
                    "start": _day(data.scope.window_start),
                    "end": _day(data.scope.window_end),
                    "months": data.scope.window_months,
                },
            )
        )
    details = _fields_table(rows, [32 * mm, CONTENT_WIDTH - 32 * mm - 36 * mm])
    qr = [_QrCode(issue.verify_url, 32 * mm), _p(_("Scan to verify"), "muted")]
    outer = Table([[details, qr]], colWidths=[CONTENT_WIDTH - 36 * mm, 36 * mm])
    outer.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("ALIGN", (1, 0), (1, 0), "CENTER"),
            ]
        )
    )
    return outer


def _by_category(records) -> dict[str, list[CreditRecord]]:
    grouped: dict[str, list[CreditRecord]] = {category: [] for category in CATEGORY_ORDER}
    for record in records:
        grouped[record.catalog_item.category].append(record)
    return grouped


def _summary(data: ReportData) -> list:
    grouped = _by_category(data.records)
    listed = [str(Category(c).label) for c in LIST_CATEGORIES if grouped[c]]
    flow = [_heading(2, _("Summary"))]
    if listed:
        flow.append(_p(_("Current list memberships: %(lists)s.") % {"lists": "; ".join(listed)}))
    else:
        flow.append(_p(_("Current list memberships: none.")))
    rows = [[_p(_("Category"), "head"), _p(_("Records disclosed"), "head")]]
    for category in CATEGORY_ORDER:
        rows.append([_p(Category(category).label, "cell"), _p(len(grouped[category]) or _("none"), "cell")])
    rows.append([_p(_("Total"), "head"), _p(len(data.records), "head")])
    table = Table(rows, colWidths=[CONTENT_WIDTH - 40 * mm, 40 * mm])
    table.setStyle(TableStyle(_grid()))
    flow += [Spacer(0, 2 * mm), table]
    return flow


def _public_records(data: ReportData) -> list:
    flow = [_heading(3, _("Records disclosed at the time of issue, by category"))]
    grouped = _by_category(data.records)
    for number, category in enumerate(CATEGORY_ORDER, start=1):
        records = grouped[category]
        heading = _p(f"3.{number} {Category(category).label} ({len(records)})", "h2")
        meaning = _p(category_meaning(category), "muted")
        if records:
            flow += [CondPageBreak(40 * mm), heading, meaning, Spacer(0, 1.5 * mm), _records_table(records)]
        else:
            flow.append(
                KeepTogether(
                    [heading, meaning, _none(_("No such records are disclosed at the time of issue."))]
                )
            )
    return flow


def _special_records(data: ReportData) -> list:
    scope = data.scope
    flow = [_heading(2, _("Records by field"))]
    kinds = "; ".join(str(Category(c).label) for c in scope.categories)
    flow.append(
        _p(
            _("For each field: %(kinds)s decided from %(start)s to %(end)s and disclosed on %(day)s.")
            % {
                "kinds": kinds,
                "start": _day(scope.window_start),
                "end": _day(scope.window_end),
                "day": _day(data.disclosed_on),
            }
        )
    )
    for number, department in enumerate(data.departments, start=1):
        records = [r for r in data.records if r.department_id == department.pk]
        records.sort(
            key=lambda r: (CATEGORY_ORDER.index(r.catalog_item.category), -r.decision_date.toordinal())
        )
        heading = _p(f"2.{number} {department.display_name} ({len(records)})", "h2")
        if records:
            flow += [CondPageBreak(40 * mm), heading, _records_table(records, with_category=True)]
        else:
            flow.append(
                KeepTogether(
                    [
                        heading,
                        _none(
                            _("No such records: none decided from %(start)s to %(end)s is disclosed.")
                            % {"start": _day(scope.window_start), "end": _day(scope.window_end)}
                        ),
                    ]
                )
            )
    return flow


def _rules_section(data: ReportData, number: int) -> list:
    flow = [_heading(number, _("The rules that govern disclosure"))]
    flow.append(
        _p(
            _(
                "Only information listed in the public credit information catalog as public is disclosed. "
                "Dishonesty information is shown for the period its severity allows under the rule set in force "
                "on its decision date; licences, red lists and commitments for their period of validity. "
                "Information that has been repaired, or whose disclosure period has ended, is no longer "
                "disclosed, shared or used, and is not in this report."
            )
        )
    )
    rows = [
        [
            _p(_("Rule set"), "head"),
            _p(_("Severity"), "head"),
            _p(_("Shown"), "head"),
            _p(_("Repair possible after"), "head"),
            _p(_("Disclosure ends after"), "head"),
        ]
    ]
    # The rule's three answers, short enough for the table's narrow column.
    disclosed_cell = {
        Disclosure.DISCLOSED: lambda: _("yes"),
        Disclosure.NOT_DISCLOSED: lambda: _("no"),
        Disclosure.WHERE_NECESSARY: lambda: _("if the catalog says so"),
    }
    for rule_set in sorted(data.rule_sets, key=lambda s: s.effective_from):
        # Labelled by date: the rule sets' names are staff data, in one language.
        label = _("Rules in force from %(day)s") % {"day": _day(rule_set.effective_from)}
        for rule in sorted(rule_set.rules.all(), key=lambda r: Severity.values.index(r.severity)):
            rows.append(
                [
                    _p(label, "cell"),
                    _p(rule.get_severity_display(), "cell"),
                    _p(disclosed_cell[rule.disclosure](), "cell"),
                    _p(_("%(n)s months") % {"n": rule.repair_after_months}, "cell"),
                    _p(_("%(n)s months") % {"n": rule.disclosure_months}, "cell"),
                ]
            )
    if len(rows) > 1:
        table = LongTable(
            rows, colWidths=[CONTENT_WIDTH - 96 * mm, 20 * mm, 18 * mm, 29 * mm, 29 * mm], repeatRows=1
        )
        table.setStyle(TableStyle(_grid()))
        flow += [Spacer(0, 2 * mm), table]

    items = {}
    for record in data.records:
        items.setdefault(record.catalog_item.pk, record.catalog_item)
    if items:
        flow.append(_p(_("Catalog items of the records in this report"), "h2"))
        rows = [
            [_p(_("Kind of record"), "head"), _p(_("Basis in law"), "head"), _p(_("Provided by"), "head")]
        ]
        for item in sorted(items.values(), key=lambda i: i.code):
            rows.append(
                [
                    _p(item.display_name, "cell"),
                    [_p(item.legal_basis, "cell"), _p(item.get_legal_basis_level_display(), "muted")],
                    _p(item.provider.display_name, "cell"),
                ]
            )
        table = LongTable(rows, colWidths=[40 * mm, CONTENT_WIDTH - 80 * mm, 40 * mm], repeatRows=1)
        table.setStyle(TableStyle(_grid()))
        flow.append(table)
    return flow


def _notes_section(issue: Issue, data: ReportData, number: int) -> list:
    scope_note = (
        _(
            "This report states every record disclosed about the entity on the site at the moment of issue. "
            "It assesses nothing: it is what the site showed."
        )
        if not data.scope.window_start
        else _(
            "This special credit report states, for each field chosen, the records decided within the window "
            "that are disclosed on the day of issue. Under the Measures for Credit Repair in force since "
            "2026-04-01, repaired information and information whose disclosure period has ended is no longer "
            "used: it is not in this report, and its absence here is correct."
        )
    )
    flow = [
        _heading(number, _("Notes and verification")),
        _p(scope_note),
        Spacer(0, 2 * mm),
        _p(
            _(
                "The report carries a digital signature (PAdES) made with the site's key; any change to the file "
                "breaks it. Verify the report number, and upload the file to check it is exactly the one issued, "
                "at %(url)s. Whether the entity's disclosed records have changed since issue is shown there too."
            )
            % {"url": issue.verify_url}
        ),
        Spacer(0, 2 * mm),
        _fields_table(
            [
                (_("Signed by"), issue.signer),
                (_("Certificate SHA-256"), issue.certificate_sha256),
            ],
            [35 * mm, CONTENT_WIDTH - 35 * mm],
        ),
    ]
    return flow


def _page_decorations(canvas: Canvas, *, page: int, total: int, issue: Issue) -> None:
    canvas.saveState()
    canvas.setFont(FONT, 7.5)
    canvas.setFillColor(MUTED)
    canvas.setStrokeColor(RULE)
    top = PAGE_HEIGHT - 11 * mm
    canvas.drawString(MARGIN, top, issue.title)
    canvas.drawRightString(PAGE_WIDTH - MARGIN, top, _("Report No. %(number)s") % {"number": issue.number})
    canvas.line(MARGIN, top - 2 * mm, PAGE_WIDTH - MARGIN, top - 2 * mm)
    bottom = 10 * mm
    canvas.line(MARGIN, bottom + 4 * mm, PAGE_WIDTH - MARGIN, bottom + 4 * mm)
    canvas.drawString(MARGIN, bottom, _("Issued %(time)s · verify at %(url)s") % {
        "time": _local(issue.issued_at), "url": issue.verify_url,
    })  # fmt: skip
    canvas.drawRightString(
        PAGE_WIDTH - MARGIN, bottom, _("Page %(page)s of %(total)s") % {"page": page, "total": total}
    )
    canvas.restoreState()


class _PagedCanvas(Canvas):
    """Holds the pages back until the end, so each can say how many there are."""

    def __init__(self, *args, issue: Issue, **kwargs):
        kwargs.update(initialFontName=FONT, initialFontSize=9)
        super().__init__(*args, **kwargs)
        self._issue = issue
        self._pages = []

    def showPage(self):
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for page, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            _page_decorations(self, page=page, total=total, issue=self._issue)
            super().showPage()
        super().save()


def render(data: ReportData, issue: Issue) -> bytes:
    """The unsigned PDF of a report."""
    register_font()
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 2 * mm,
        bottomMargin=MARGIN,
        title=f"{issue.title} {issue.number}",
        author=_("Credit Disclosure"),
        subject=data.entity.name,
        creator=_("Credit Disclosure"),
    )
    identifier = data.entity.public_identifier
    flow = [
        _p(issue.title, "title"),
        _p(f"{data.entity.name}  {identifier}", "subtitle"),
        Spacer(0, 4 * mm),
        _issue_block(issue, data),
        *_entity_section(data),
    ]
    if data.scope.window_start:
        flow += _special_records(data)
        flow += _rules_section(data, 3)
        flow += _notes_section(issue, data, 4)
    else:
        flow += _summary(data)
        flow += _public_records(data)
        flow += _rules_section(data, 4)
        flow += _notes_section(issue, data, 5)
    document.build(flow, canvasmaker=partial(_PagedCanvas, issue=issue))
    return buffer.getvalue()
