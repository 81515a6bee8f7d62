"""Administrative divisions (GB/T 2260) from python-stdnum's maintained table."""

import functools
import re

from pypinyin import lazy_pinyin
from stdnum import numdb

_HISTORY = re.compile(r"^\[(\d{4})?-(\d{4})?\]")
_PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}


def _latest(value: str) -> tuple[str, bool]:
    """The table keeps renamed divisions as ``[1983-1989]old,[1990-]new``: the newest name and
    whether it is still current (no end year)."""
    latest = [part for part in value.split(",") if part][-1]
    match = _HISTORY.match(latest)
    current = not (match and match.group(2))
    name = _HISTORY.sub("", latest).strip()
    return _SIMPLIFIED.get(name, name), current


# The table writes a few names in Traditional characters; the site writes Simplified ones.
_SIMPLIFIED = {"香港特別行政區": "香港特别行政区", "澳門特別行政區": "澳门特别行政区"}


def _info(code: str) -> tuple[str, str]:
    province = county = ""
    for _prefix, props in numdb.get("cn/loc").info(code):
        if "province" in props:
            province = _latest(props["province"])[0]
        if "county" in props:
            county = _latest(props["county"])[0]
    return province, county


@functools.lru_cache(maxsize=8192)
def lookup(division_code: str) -> tuple[str, str]:
    """(province, full region name) for a 6-digit division code, e.g. ("广东省",
    "广东省深圳市南山区"); empty strings when the code is not in the table."""
    if len(division_code) != 6 or not division_code.isdigit():
        return "", ""
    province, county = _info(division_code)
    if not province:
        return "", ""
    parts = [province]
    if division_code[4:] != "00":
        _p, prefecture = _info(division_code[:4] + "00")
        if prefecture and prefecture not in _PLACEHOLDERS and prefecture != province:
            parts.append(prefecture)
    if county and county not in _PLACEHOLDERS and county not in parts:
        parts.append(county)
    return province, "".join(parts)


_SUFFIXES = ("特别行政区", "自治州", "自治县", "地区", "盟", "市", "省")


def short_name(name: str) -> str:
    """``景德镇市`` -> ``景德镇``: how a city's name starts an enterprise's name."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


@functools.lru_cache(maxsize=8192)
def city_name(division_code: str) -> str:
    """The short name of the city (prefecture) a division belongs to; for the municipalities
    directly under the central government, the municipality itself."""
    province, _county = _info(division_code)
    _p, prefecture = _info(division_code[:4] + "00")
    if not prefecture or prefecture in _PLACEHOLDERS:
        return short_name(province)
    return short_name(prefecture)


@functools.cache
def provinces() -> list[tuple[str, str]]:
    """(two-digit code, name) of every province-level division, for filters."""
    found = []
    for prefix in range(11, 83):
        province, _region = lookup(f"{prefix:02d}0000")
        if province:
            found.append((f"{prefix:02d}", province))
    return found


@functools.cache
def current_counties() -> list[str]:
    """Six-digit codes of county-level divisions still in use (for demo data)."""
    codes = []
    for prefix in range(11, 66):
        for middle in range(1, 35):
            for last in range(1, 30):
                code = f"{prefix:02d}{middle:02d}{last:02d}"
                entries = numdb.get("cn/loc").info(code)
                if len(entries) == 2 and "county" in entries[1][1]:
                    name, current = _latest(entries[1][1]["county"])
                    if current and name not in _PLACEHOLDERS:
                        codes.append(code)
    return codes


# English names of the province-level divisions, as the State Council's English pages write
# them; the others are spelled in pinyin with their kind translated.
PROVINCES_EN = {
    "11": "Beijing", "12": "Tianjin", "13": "Hebei", "14": "Shanxi", "15": "Inner Mongolia",
    "21": "Liaoning", "22": "Jilin", "23": "Heilongjiang", "31": "Shanghai", "32": "Jiangsu",
    "33": "Zhejiang", "34": "Anhui", "35": "Fujian", "36": "Jiangxi", "37": "Shandong",
    "41": "Henan", "42": "Hubei", "43": "Hunan", "44": "Guangdong", "45": "Guangxi",
    "46": "Hainan", "50": "Chongqing", "51": "Sichuan", "52": "Guizhou", "53": "Yunnan",
    "54": "Xizang", "61": "Shaanxi", "62": "Gansu", "63": "Qinghai", "64": "Ningxia",
    "65": "Xinjiang", "71": "Taiwan", "81": "Hong Kong", "82": "Macao",
}  # fmt: skip
# Suffixes of prefecture- and county-level names, longest first, and their English.
_KINDS_EN = [
    ("自治县", "Autonomous County"),
    ("自治州", "Autonomous Prefecture"),
    ("自治旗", "Autonomous Banner"),
    ("新区", "New Area"),
    ("林区", "Forest District"),
    ("地区", "Prefecture"),
    ("区", "District"),
    ("县", "County"),
    ("旗", "Banner"),
    ("盟", "League"),
    ("市", ""),
]
# Place names whose reading pinyin tables get wrong.
_READINGS = {"朝阳": "Chaoyang", "蚌埠": "Bengbu", "六安": "Lu'an", "丽水": "Lishui", "乐清": "Yueqing",
             "番禺": "Panyu", "蔚县": "Yu County", "莘县": "Shen County", "铅山": "Yanshan"}  # fmt: skip


def pinyin_name(name: str) -> str:
    """``南山`` -> ``Nanshan``, ``西安`` -> ``Xi'an`` (an apostrophe before a syllable that
    starts with a vowel)."""
    if name in _READINGS:
        return _READINGS[name]
    syllables = lazy_pinyin(name)
    spelled = syllables[0] + "".join(("'" if s[:1] in "aoe" else "") + s for s in syllables[1:])
    return spelled.capitalize()


def _place_en(name: str) -> str:
    if name in _READINGS:
        return _READINGS[name]
    for suffix, kind in _KINDS_EN:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            if stem + suffix in _READINGS:
                return _READINGS[stem + suffix]
            return f"{pinyin_name(stem)} {kind}".strip()
    return pinyin_name(name)


def province_display(code: str) -> str:
    """A province's name in the page's language, from its two-digit code."""
    from django.utils.translation import get_language

    if (get_language() or "").startswith("en") and code in PROVINCES_EN:
        return PROVINCES_EN[code]
    return dict(provinces()).get(code, code)


@functools.lru_cache(maxsize=8192)
def region_en(division_code: str) -> str:
    """``440305`` -> ``Nanshan District, Shenzhen, Guangdong``."""
    province, _region = lookup(division_code)
    if not province:
        return ""
    parts = [PROVINCES_EN.get(division_code[:2], pinyin_name(province))]
    if division_code[2:] != "0000":
        _p, prefecture = _info(division_code[:4] + "00")
        if prefecture and prefecture not in _PLACEHOLDERS and prefecture != province:
            parts.insert(0, _place_en(prefecture))
        _p, county = _info(division_code)
        if division_code[4:] != "00" and county and county not in _PLACEHOLDERS:
            parts.insert(0, _place_en(county))
    return ", ".join(parts)
