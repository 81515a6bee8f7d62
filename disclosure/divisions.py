"""Administrative divisions (GB/T 2260) from python-stdnum's maintained table."""

import functools
import re

from stdnum import numdb

_HISTORY = re.compile(r"^\[(\d{4})?-(\d{4})?\]")
_PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}


def _latest(value: str) -> tuple[str, bool]:
    """The table keeps renamed divisions as ``[1983-1989]old,[1990-]new``: the newest name and
    whether it is still current (no end year)."""
    latest = [part for part in value.split(",") if part][-1]
    match = _HISTORY.match(latest)
    current = not (match and match.group(2))
    return _HISTORY.sub("", latest).strip(), current


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
