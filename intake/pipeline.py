"""Reading and checking a department's file: formats, encodings, headers, every row.

Nothing here writes. ``read_rows`` turns a file (CSV, XLSX or JSON lines) into raw rows keyed
by field name, refusing a broken file with a ``FileRefused`` that says why; ``RowChecker``
checks one raw row against the rules that need no database state beyond the catalog
(code, catalog item, its scope and whether it applies to the row's kind of entity, dates,
severity, required fields, lengths, duplicates inside the file) and turns it into a ``Row``.
What depends on the records already published (is this a new record, a correction, a
revocation, unchanged) is decided by ``intake.services``.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from disclosure import identity, services, uscc
from disclosure.models import CatalogItem, Department, DisclosureRuleSet, Entity, EntityKind
from disclosure.rules import VALIDITY_CATEGORIES, Severity

# -- the fields a file may carry ----------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str
    zh: str  # the Chinese header of the templates
    label: str  # the English header of the templates is ``name``; this is its description
    required: bool
    max_length: int
    aliases: tuple[str, ...] = ()
    example: str = ""
    help: str = ""
    alternative: str = ""  # a field that may stand in for this one (required: one of the two)


TEXT_MAX = 10_000
FIELDS = (
    Field("code", "统一社会信用代码", gettext_lazy("Unified Social Credit Code"), False, 40,
          ("社会信用代码", "uscc"), "91110000600037341L",
          gettext_lazy("18 characters (GB 32100-2015); spaces, hyphens and full-width characters are folded away. "
                       "Empty for a natural person: give the identity number instead."), "id_number"),
    Field("id_number", "身份证号码", gettext_lazy("Resident identity number"), False, 40,
          ("公民身份号码", "居民身份证号码", "身份证号", "identity_number"), "",
          gettext_lazy("Natural persons in key professions only, instead of the code: 18 characters (GB 11643), "
                       "the last a digit or X. The site keeps only a fingerprint of it and a masked form "
                       "(110101********123X): it is never shown in full, in the error report neither. A known number "
                       "with a new name renames the person."), "code"),
    Field("entity_name", "主体名称", gettext_lazy("Entity name"), True, 200,
          ("行政相对人名称", "name"), "北京华为数字技术有限公司",
          gettext_lazy("The entity's current name. A known code with a new name renames the entity; the former name stays searchable.")),
    Field("catalog_item", "目录项编码", gettext_lazy("Catalog item code"), True, 50,
          ("信息类别编码", "catalog_item_code"), "samr-penalty",
          gettext_lazy("The code of a catalog item inside the department's business scope that applies to the "
                       "row's entity: an item for organisations takes no identity number, one for natural "
                       "persons no code.")),
    Field("decision_number", "决定文书号", gettext_lazy("Decision document number"), True, 100,
          ("文书号", "行政处罚决定书文号", "行政许可决定文书号"), "京朝市监罚〔2026〕1号",
          gettext_lazy("Unique within the department: the same number again corrects (or revokes) that record.")),
    Field("decision_date", "决定日期", gettext_lazy("Decision date"), True, 30,
          ("处罚决定日期", "许可决定日期"), "2026-06-15",
          gettext_lazy("YYYY-MM-DD (also YYYY/MM/DD and YYYY年M月D日); not in the future.")),
    Field("facts", "事实", gettext_lazy("Facts"), True, TEXT_MAX, ("违法事实", "主要违法事实", "许可内容"),
          "未按规定公示年度报告。", gettext_lazy("What was decided about, in the words of the decision.")),
    Field("legal_basis_cited", "依据", gettext_lazy("Legal basis cited"), True, TEXT_MAX, ("处罚依据", "许可依据"),
          "《企业信息公示暂行条例》第十八条", ""),
    Field("outcome", "结果", gettext_lazy("Outcome"), True, TEXT_MAX, ("处罚结果", "处罚内容", "许可事项"),
          "罚款人民币一万元", gettext_lazy("The measure decided, e.g. a fine or a listing.")),
    Field("penalty_amount", "金额（元）", gettext_lazy("Amount (yuan)"), False, 30, ("罚款金额（元）", "罚款金额", "金额"),
          "10000.00", gettext_lazy("Yuan, at most two decimals; empty when there is none.")),
    Field("severity", "严重程度", gettext_lazy("Severity"), False, 16, (), "",
          gettext_lazy("Dishonesty information only: minor/general/serious (轻微/一般/严重); empty takes the catalog item's.")),
    Field("valid_from", "有效期自", gettext_lazy("Valid from"), False, 30, (), "",
          gettext_lazy("Licences, red lists and commitments: required, with “valid until”.")),
    Field("valid_until", "有效期至", gettext_lazy("Valid until"), False, 30, (), "",
          gettext_lazy("Not before “valid from”.")),
    Field("revoked", "已撤销", gettext_lazy("Revoked"), False, 8, ("是否撤销",), "",
          gettext_lazy("是/yes/1: the decision was revoked; the record with this number is revoked.")),
    Field("revoke_reason", "撤销原因", gettext_lazy("Reason for revocation"), False, TEXT_MAX, (), "",
          gettext_lazy("Required when “revoked”: the revoking decision and its number.")),
)  # fmt: skip
FIELDS_BY_NAME = {f.name: f for f in FIELDS}
REQUIRED = tuple(f.name for f in FIELDS if f.required)
# Who a row is about: an organisation's code, or a natural person's identity number.
IDENTIFIERS = ("code", "id_number")
_FIELD_LIMITS = tuple((f.name, f.required, f.max_length) for f in FIELDS)


def _header_key(text: str) -> str:
    text = (text or "").replace("\ufeff", "").strip().strip("*").strip()
    return re.sub(r"[\s_]+", "_", text).casefold()


HEADER_NAMES: dict[str, str] = {}
for _field in FIELDS:
    for _name in (_field.name, _field.zh, *_field.aliases):
        HEADER_NAMES[_header_key(_name)] = _field.name

SEVERITY_WORDS = {
    **{s.value: s.value for s in Severity},
    "轻微": Severity.MINOR,
    "一般": Severity.GENERAL,
    "严重": Severity.SERIOUS,
}
TRUE_WORDS = {"是", "yes", "y", "true", "1", "revoked", "已撤销", "撤销"}
FALSE_WORDS = {"", "否", "no", "n", "false", "0"}

# What a code's registration authority and entity type say the entity is (GB 32100).
KIND_BY_PREFIX = {
    "91": EntityKind.ENTERPRISE,
    "92": EntityKind.INDIVIDUAL_BUSINESS,
    "93": EntityKind.ENTERPRISE,
    "11": EntityKind.GOVERNMENT_BODY,
    "12": EntityKind.PUBLIC_INSTITUTION,
    "51": EntityKind.SOCIAL_ORGANISATION,
    "52": EntityKind.SOCIAL_ORGANISATION,
    "53": EntityKind.SOCIAL_ORGANISATION,
}


def entity_kind_of(code: str) -> str:
    if code[:2] in KIND_BY_PREFIX:
        return KIND_BY_PREFIX[code[:2]]
    return EntityKind.SOCIAL_ORGANISATION if code[0] in "3578" else EntityKind.ENTERPRISE


# -- files ----------------------------------------------------------------------------------


class FileRefused(Exception):
    """The file as a whole cannot be read: nothing is written, the message says why."""


FORMATS = ("csv", "xlsx", "jsonl")
SAMPLE_BYTES = 1 << 20


def detect_format(head: bytes, file_name: str) -> str:
    name = (file_name or "").lower()
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(_("This is an old Excel (.xls) workbook: save it as .xlsx or CSV and submit it again."))
    for magic, kind in ((b"%PDF", "PDF"), (b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"\x1f\x8b", "gzip")):
        if head.startswith(magic):
            raise FileRefused(
                _("This is a %(kind)s file, not a spreadsheet: submit CSV, XLSX or JSON lines.") % {"kind": kind}
            )
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise FileRefused(_("The file is empty."))
    if name.endswith((".jsonl", ".ndjson", ".json")) or head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "jsonl"
    return "csv"


def _plausible_gb18030(text: str) -> bool:
    """Bytes in another encoding often decode as GB18030 (it leaves few byte pairs
    undefined) into rare characters. Real Chinese text is mostly characters of the common
    GB2312 set, so a sample whose non-ASCII characters mostly are not is refused."""
    others = [ch for ch in text if ord(ch) > 127]
    if not others:
        return True
    common = 0
    for ch in others:
        try:
            ch.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common / len(others) >= 0.9


def detect_encoding(sample: bytes, *, complete: bool) -> str:
    """UTF-8 (with or without its byte-order mark) or GB18030, each decoded strictly; anything
    else is refused with a message saying what to do. ``complete``: the sample is the whole
    file (so an incomplete character at its end means a truncated file)."""
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRefused(_("The file is UTF-16: save it as UTF-8 (or GB18030) and submit it again."))
    if b"\x00" in sample:
        raise FileRefused(_("The file holds binary data: submit CSV, XLSX or JSON lines."))
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        decoder.decode(sample, final=complete)
        return "utf-8-sig" if sample.startswith(codecs.BOM_UTF8) else "utf-8"
    except UnicodeDecodeError as exc:
        if complete and exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            raise FileRefused(_("The file ends in the middle of a character: it is truncated.")) from None
    decoder = codecs.getincrementaldecoder("gb18030")("strict")
    try:
        text = decoder.decode(sample, final=complete)
    except UnicodeDecodeError:
        text = None
    if text is not None and _plausible_gb18030(text):
        return "gb18030"
    raise FileRefused(
        _(
            "The file's encoding is neither UTF-8 nor GB18030 (or it mixes them): save it as "
            "UTF-8 or GB18030 and submit it again."
        )
    )


@dataclass
class RawRow:
    line: int
    values: dict[str, object]  # field name -> the cell as read (text, or a date/number from XLSX)
    columns: dict[str, str]  # field name -> the header as written in the file
    problem: str = ""  # a row that could not be read at all (bad JSON, wrong cell count)


@dataclass
class Source:
    file_format: str
    encoding: str
    rows: Iterator[RawRow]


def _map_header(cells: list[str]) -> tuple[list[str | None], dict[str, str]]:
    names, columns, unknown, seen = [], {}, [], set()
    for cell in cells:
        name = HEADER_NAMES.get(_header_key(str(cell or "")))
        if name is None:
            if str(cell or "").strip():
                unknown.append(str(cell).strip())
            names.append(None)
            continue
        if name in seen:
            raise FileRefused(_("The column “%(column)s” appears twice.") % {"column": cell})
        seen.add(name)
        names.append(name)
        columns[name] = str(cell).strip()
    missing = [FIELDS_BY_NAME[name] for name in REQUIRED if name not in seen]
    if unknown or missing or not seen.intersection(IDENTIFIERS):
        parts = []
        if missing or not seen.intersection(IDENTIFIERS):
            names = [f"{f.zh} ({f.name})" for f in missing]
            if not seen.intersection(IDENTIFIERS):
                code, number = (FIELDS_BY_NAME[name] for name in IDENTIFIERS)
                names.insert(0, _("%(code)s or %(id_number)s") % {
                    "code": f"{code.zh} ({code.name})", "id_number": f"{number.zh} ({number.name})"})  # fmt: skip
            parts.append(_("Missing columns: %(columns)s.") % {"columns": ", ".join(names)})
        if unknown:
            parts.append(_("Unknown columns: %(columns)s.") % {"columns": ", ".join(unknown)})
        parts.append(_("Use the template's headers, in Chinese or in English."))
        raise FileRefused(" ".join(parts))
    return names, columns


def sniff(head: bytes, file_name: str, *, complete: bool) -> tuple[str, str]:
    """The format and the codec of a file from its first ``SAMPLE_BYTES`` (``complete``: that
    is the whole file), or ``FileRefused`` when they already show it cannot be read. The
    codec is empty for XLSX."""
    file_format = detect_format(head, file_name)
    if file_format == "xlsx":
        return file_format, ""
    return file_format, detect_encoding(head, complete=complete)


def read_rows(stream, file_name: str) -> Source:
    """The rows of a binary, seekable ``stream``, read lazily."""
    stream.seek(0)
    head = stream.read(SAMPLE_BYTES)
    stream.seek(0)
    file_format, encoding = sniff(head, file_name, complete=len(head) < SAMPLE_BYTES)
    if file_format == "xlsx":
        return Source("xlsx", "", _xlsx_rows(stream))
    text = io.TextIOWrapper(stream, encoding=encoding, errors="strict", newline="")
    rows = _csv_rows(text) if file_format == "csv" else _jsonl_rows(text)
    return Source(file_format, encoding.replace("-sig", ""), _decoding_errors(rows, encoding, text))


def _decoding_errors(rows: Iterator[RawRow], encoding: str, text) -> Iterator[RawRow]:
    last = 1
    try:
        for row in rows:
            last = row.line
            yield row
    except UnicodeDecodeError:
        raise FileRefused(
            _("After line %(line)d the file is not valid %(encoding)s: it mixes encodings or is damaged.")
            % {"line": last, "encoding": encoding.replace("-sig", "").upper()}
        ) from None
    finally:
        text.detach()  # the caller's stream stays open (a held batch stores it next)


# NUL and half a surrogate pair: no database text column holds them (PostgreSQL refuses NUL,
# neither database encodes a lone surrogate), and no UTF-8 answer (the batch's report quotes
# values) can carry a surrogate. JSON spells both as escapes (\u0000, \ud800); a CSV file
# can hold a NUL past the sample ``detect_encoding`` looks at.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable_problem() -> str:
    return _(
        "This line holds a character no record may contain: NUL (\\u0000) or half of a surrogate "
        "pair (\\ud800 to \\udfff)."
    )


def _unstorable(raw_line: str, data) -> bool:
    if "\\u" not in raw_line:  # JSON refuses both unescaped, and no decoder makes a surrogate
        return False
    if isinstance(data, str):
        return bool(_UNSTORABLE.search(data))
    if isinstance(data, dict):
        return any(_unstorable(raw_line, key) or _unstorable(raw_line, value) for key, value in data.items())
    if isinstance(data, list):
        return any(_unstorable(raw_line, value) for value in data)
    return False


def _csv_rows(text) -> Iterator[RawRow]:
    first = text.readline()
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    header = next(csv.reader([first], delimiter=delimiter), [])
    names, columns = _map_header(header)
    every_column_known = None not in names
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    line = 2
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield RawRow(line, {}, columns, _("The row cannot be read as CSV (an unclosed quote?): the file may be truncated."))
            return
        start, line = line, reader.line_num + 2
        joined = "".join(cells)
        if not joined.strip():
            continue
        if "\x00" in joined:  # past the sample that detect_encoding saw
            yield RawRow(start, {}, columns, _unstorable_problem())
            continue
        if len(cells) != len(names):
            yield RawRow(start, {}, columns, _("%(expected)d cells expected, %(found)d found.")
                         % {"expected": len(names), "found": len(cells)})  # fmt: skip
            continue
        if every_column_known:
            yield RawRow(start, dict(zip(names, cells)), columns)  # noqa: B905 - lengths checked above
        else:
            yield RawRow(start, {n: c for n, c in zip(names, cells, strict=True) if n}, columns)


def _jsonl_rows(text) -> Iterator[RawRow]:
    columns: dict[str, str] | None = None
    for number, raw in enumerate(text, start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            yield RawRow(number, {}, columns or {}, _("This line is not valid JSON (the file may be truncated)."))
            continue
        if _unstorable(raw, data):
            yield RawRow(number, {}, columns or {}, _unstorable_problem())
            continue
        if not isinstance(data, dict):
            yield RawRow(number, {}, columns or {}, _("This line is not a JSON object."))
            continue
        if columns is None:
            _names, columns = _map_header(list(data))
        values, unknown = {}, []
        for key, value in data.items():
            name = HEADER_NAMES.get(_header_key(key))
            if name is None:
                unknown.append(key)
            else:
                values[name] = value
        if unknown:
            yield RawRow(number, {}, columns, _("Unknown keys: %(keys)s.") % {"keys": ", ".join(unknown)})
            continue
        yield RawRow(number, values, columns)
    if columns is None:
        raise FileRefused(_("The file holds no rows."))


def _xlsx_rows(stream) -> Iterator[RawRow]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise FileRefused(_("The XLSX workbook is damaged or truncated, or it is not a workbook.")) from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise FileRefused(_("The file holds no rows."))
        while header and header[-1] in (None, ""):
            header = header[:-1]
        names, columns = _map_header([str(cell or "") for cell in header])
        for number, cells in enumerate(rows, start=2):
            if not any(cell not in (None, "") for cell in cells):
                continue
            values = {n: c for n, c in zip(names, cells, strict=False) if n}
            yield RawRow(number, values, columns)
    except zipfile.BadZipFile:
        raise FileRefused(_("The XLSX workbook is damaged or truncated.")) from None
    finally:
        book.close()


# -- rows -----------------------------------------------------------------------------------


@dataclass
class Row:
    """A checked row: what the department states about one record. ``code`` is the key of
    the entity: its Unified Social Credit Code, or for a natural person the keyed digest of
    the identity number (``Entity.id_number_digest``, ``is_person_key``), whose masked form
    is ``id_number_masked``. The number itself is not kept."""

    line: int
    code: str
    entity_name: str
    catalog_item_id: int
    decision_number: str
    decision_date: dt.date
    facts: str
    legal_basis_cited: str
    outcome: str
    penalty_amount: Decimal | None
    severity: str  # as the record will hold it (the catalog item's when the row leaves it empty)
    valid_from: dt.date | None
    valid_until: dt.date | None
    revoked: bool
    revoke_reason: str
    id_number_masked: str = ""  # a natural person's only (kept last: the columns of intake.staging follow)

    def as_tuple(self) -> tuple:
        return tuple(self.__dict__.values())  # the fields, in order (set by the dataclass's __init__)


ROW_FIELDS = tuple(Row.__dataclass_fields__)


def is_person_key(code: str) -> bool:
    """Whether a row's ``code`` is a natural person's digest (64 characters), not a code (18)."""
    return len(code) > uscc.LENGTH


def entity_of(row: Row, pk: int, name: str) -> Entity:
    """The known entity a row names, as the writers need it (its key and public identifier)."""
    if row.id_number_masked:
        return Entity(pk=pk, name=name, code=None, id_number_masked=row.id_number_masked,
                      kind=EntityKind.NATURAL_PERSON)  # fmt: skip
    # The kind its code says: what the catalog's subjects tell apart (an organisation, not a
    # person) is right whatever kind of organisation the entity was saved as.
    return Entity(pk=pk, name=name, code=row.code, kind=entity_kind_of(row.code))


@dataclass
class RowError:
    line: int
    column: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "code": self.code, "message": self.message}


def duplicate_error(line: int, column: str, first: int) -> RowError:
    """A decision number already on an earlier line of the file."""
    return RowError(line, column, "duplicate", _("The same decision number is on line %(line)d.") % {"line": first})


def name_conflict_error(line: int, column: str, first: int, name: str, *, person: bool = False) -> RowError:
    """A code (or a natural person's number) an earlier line of the file gives another name."""
    if person:
        message = _("Line %(line)d gives this identity number the name “%(name)s”.")
    else:
        message = _("Line %(line)d gives this code the name “%(name)s”.")
    return RowError(line, column, "name_conflict", message % {"line": first, "name": name})


def column_of(columns: dict[str, str], name: str) -> str:
    """A field's column as the file's header writes it (the Chinese header if it has none)."""
    return columns.get(name) or FIELDS_BY_NAME[name].zh


DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


def _text(value) -> str:
    if type(value) is str:  # noqa: E721 - CSV and JSON cells, the common case, first
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    if not text:
        return None
    return _date_of_text(text)


@functools.lru_cache(maxsize=4096)
def _date_of_text(text: str) -> dt.date:
    """The date a cell's text spells (a file's rows share few dates: parsed once each)."""
    text = text.split("T")[0].split(" ")[0]
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


class RowChecker:
    """Checks rows for one department: the catalog, its scope and the rule sets are read once."""

    def __init__(self, *, department: Department, today: dt.date | None = None, duplicates: bool = True):
        """``duplicates``: refuse duplicates inside the file here (decision numbers, names
        of one code), keeping every number and code seen; off when the caller checks them
        itself over ``keys`` (``intake.staging`` does, in SQL, with memory flat)."""
        self.department = department
        self.duplicates = duplicates
        self.keys: tuple[int, str, str, str] = (0, "", "", "")  # the last row's (line, number, code, name)
        self.today = today or timezone.localdate()
        self.items = {item.code: item for item in CatalogItem.objects.all()}
        self.items_by_id = {item.pk: item for item in self.items.values()}
        self.scope = set(department.scope.values_list("pk", flat=True))
        self.rule_sets = list(DisclosureRuleSet.objects.prefetch_related("rules").order_by("-effective_from"))
        self.numbers: dict[str, int] = {}  # decision number -> first line
        self.names: dict[str, tuple[str, int]] = {}  # code -> (name, first line)
        self.codes: dict[str, str] = {}  # a code as written -> as validated (a bounded cache)
        self.fingerprints: dict[str, identity.Fingerprint] = {}  # an identity number as written -> its fingerprint
        self._periods: dict[tuple, object] = {}

    def item_problem(self, item: CatalogItem, code: str, masked: str) -> tuple[str, str] | None:
        """Why this department may not publish a record of ``item`` about the entity a row
        names (``code``: its code or, with ``masked``, a natural person's fingerprint; empty
        when the row names none that is valid): (error code, message), or None. Asked by
        ``check`` and again by the import, with the catalog and the scope as they are when it
        starts writing (after taking the department's intake lock; the item's subjects once
        more under the event-order lock, ``disclosure.services.check_still_applies``)."""
        if item.pk not in self.scope:
            return "out_of_scope", _("“%(item)s” is outside the business scope of %(department)s.") % {
                "item": item.name, "department": self.department.name}  # fmt: skip
        if code:
            # Who the row names: a natural person by the identity number, else an organisation.
            kind = EntityKind.NATURAL_PERSON if masked else entity_kind_of(code)
            if not item.applies_to(kind):
                return "subjects", services.not_applicable_message(catalog_item=item, kind=kind)
        return None

    def check(self, raw: RawRow) -> tuple[Row | None, list[RowError]]:
        self.keys = (raw.line, "", "", "")
        if raw.problem:
            return None, [RowError(raw.line, "", "unreadable", raw.problem)]
        errors: list[RowError] = []
        line = raw.line

        def column(name):
            return column_of(raw.columns, name)

        def fail(name, code, message):
            errors.append(RowError(line, column(name) if name else "", code, str(message)))

        values = {}
        get = raw.values.get
        for name, required, max_length in _FIELD_LIMITS:
            raw_value = get(name)
            if type(raw_value) is str:  # noqa: E721 - the common case first
                text = raw_value.strip()
            elif isinstance(raw_value, dt.date):  # a date or datetime cell of a workbook
                values[name] = raw_value
                continue
            else:
                text = _text(raw_value)
            if not text:
                if required:
                    fail(name, "required", _("Required."))
            elif len(text) > max_length:
                fail(name, "too_long", _("At most %(max)d characters; this has %(length)d.")
                     % {"max": max_length, "length": len(text)})  # fmt: skip
            values[name] = text

        code, masked = "", ""
        if values["code"] and values["id_number"]:
            fail("id_number", "code_and_identity", _("Give the code of an organisation or the identity number of a "
                                                     "natural person, not both."))  # fmt: skip
        elif values["code"]:
            code = self.codes.get(values["code"], "")
            if not code:
                try:
                    code = uscc.validate(values["code"])
                except ValidationError as exc:
                    fail("code", "code", self._code_problem(values["code"], exc))
                else:
                    if len(self.codes) >= 100_000:
                        self.codes.clear()
                    self.codes[values["code"]] = code
        elif values["id_number"]:
            person = self.fingerprints.get(values["id_number"])
            if person is None:
                try:
                    person = identity.fingerprint(identity.validate(values["id_number"]))
                except ValidationError as exc:
                    fail("id_number", "identity_number", exc.messages[0])
                else:
                    if len(self.fingerprints) >= 100_000:
                        self.fingerprints.clear()
                    self.fingerprints[values["id_number"]] = person
            if person is not None:
                code, masked = person.digest, person.masked
        else:
            fail("code", "required", _("Required: the code, or for a natural person the identity number."))
        item = None
        if values["catalog_item"]:
            item = self.items.get(values["catalog_item"])
            if item is None:
                fail("catalog_item", "catalog_unknown", _("No catalog item has the code “%(code)s”.")
                     % {"code": values["catalog_item"]})  # fmt: skip
            elif problem := self.item_problem(item, code, masked):
                fail("catalog_item", *problem)
                if problem[0] == "out_of_scope":
                    item = None
        dates = {}
        for name in ("decision_date", "valid_from", "valid_until"):
            try:
                dates[name] = _date(values[name])  # the cell as read, its text stripped
            except ValueError:
                fail(name, "date", _("“%(value)s” is not a date: write YYYY-MM-DD.") % {"value": values[name]})
                dates[name] = None
        decided = dates["decision_date"]
        if decided and decided > self.today:
            fail("decision_date", "future", _("The decision date cannot be in the future."))
        if dates["valid_from"] and dates["valid_until"] and dates["valid_until"] < dates["valid_from"]:
            fail("valid_until", "validity", _("“Valid until” must not be before “valid from”."))
        amount = None
        if values["penalty_amount"]:
            try:
                amount = Decimal(str(values["penalty_amount"]).replace(",", ""))
                if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
                    raise InvalidOperation
                if amount.adjusted() >= 14:
                    raise InvalidOperation
            except InvalidOperation:
                fail("penalty_amount", "amount", _("“%(value)s” is not an amount in yuan (at most two decimals).")
                     % {"value": values["penalty_amount"]})  # fmt: skip
                amount = None
        severity = ""
        if values["severity"]:
            severity = SEVERITY_WORDS.get(values["severity"].casefold(), "")
            if not severity:
                fail("severity", "severity", _("“%(value)s” is not a severity: minor, general or serious (轻微、一般、严重).")
                     % {"value": values["severity"]})  # fmt: skip
            elif item is not None and item.category in VALIDITY_CATEGORIES:
                fail("severity", "severity", _("Records of the kind “%(category)s” have no severity: leave it empty.")
                     % {"category": item.get_category_display()})  # fmt: skip
        revoked_word = str(values["revoked"]).casefold()
        revoked = revoked_word in TRUE_WORDS
        if not revoked and revoked_word not in FALSE_WORDS:
            fail("revoked", "flag", _("Write 是 or 否 (yes or no)."))
        if revoked and not values["revoke_reason"]:
            fail("revoke_reason", "required", _("Give a reason: every change to a record is traceable."))
        number = values["decision_number"]
        name = values["entity_name"]
        self.keys = (line, number, code, name)
        if number and self.duplicates:
            first = self.numbers.get(number)
            if first is not None and first != line:
                errors.append(duplicate_error(line, column("decision_number"), first))
        if code and name and self.duplicates:
            seen = self.names.get(code)
            if seen is not None and seen[0] != name:
                errors.append(name_conflict_error(line, column("entity_name"), seen[1], seen[0], person=bool(masked)))
        if item is not None and decided and not errors:
            key = (item.pk, severity, decided, dates["valid_from"], dates["valid_until"])
            computed = self._periods.get(key)
            if computed is None:
                try:
                    computed = services.compute_periods(
                        item=item, severity=severity, decision_date=decided, valid_from=dates["valid_from"],
                        valid_until=dates["valid_until"], rule_sets=self.rule_sets,
                    )  # fmt: skip
                except ValidationError as exc:
                    for name, messages in exc.message_dict.items():
                        code_ = "validity" if name in ("valid_from", "valid_until") else "rules"
                        fail(name if name in FIELDS_BY_NAME else "", code_, messages[0])
                    computed = None
                else:
                    self._periods[key] = computed
            if computed is not None:
                severity = computed[0]
        if number and self.duplicates and number not in self.numbers:
            self.numbers[number] = line
        if code and name and self.duplicates and code not in self.names:
            self.names[code] = (name, line)
        if errors:
            return None, errors
        return Row(
            line=line, code=code, entity_name=name, catalog_item_id=item.pk, decision_number=number,
            decision_date=decided, facts=values["facts"], legal_basis_cited=values["legal_basis_cited"],
            outcome=values["outcome"], penalty_amount=amount, severity=severity, valid_from=dates["valid_from"],
            valid_until=dates["valid_until"], revoked=revoked, revoke_reason=values["revoke_reason"],
            id_number_masked=masked,
        ), []  # fmt: skip

    def _code_problem(self, text: str, exc: ValidationError) -> str:
        """What is wrong with a code; a resident identity number written as a code is told
        where it belongs."""
        try:
            identity.validate(text)
        except ValidationError:
            return exc.messages[0]
        return _("This is a resident identity number: write it in the column “%(column)s” (%(name)s).") % {
            "column": FIELDS_BY_NAME["id_number"].zh, "name": "id_number"}  # fmt: skip

    def periods(self, row: Row):
        """(severity, rule set, periods) of a checked row, computed once per combination."""
        key = ("row", row.catalog_item_id, row.severity, row.decision_date, row.valid_from, row.valid_until)
        computed = self._periods.get(key)
        if computed is None:
            computed = self._periods[key] = services.compute_periods(
                item=self.items_by_id[row.catalog_item_id], severity=row.severity,
                decision_date=row.decision_date, valid_from=row.valid_from, valid_until=row.valid_until,
                rule_sets=self.rule_sets,
            )  # fmt: skip
        return computed
