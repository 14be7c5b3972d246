#!/usr/bin/env python3
"""Generate the QcPipeline.Dicom data dictionary and UID table (C#) from machine-readable data files.

Sources (read as data only; nothing is imported from them):
  * DCMTK's data dictionary  /usr/share/libdcmtk17/dicom.dic   (Debian package "dcmtk")
      tab separated: tag, VR, keyword, VM, version.
  * pydicom's tag dictionary /usr/lib/python3/dist-packages/pydicom/_dicom_dict.py (Debian "python3-pydicom")
      used for the human-readable Name of each tag, the retired flag (cross-check) and the
      repeating-group patterns (gggg,04x0) / (1000,xxx0) / (1010,xxxx) that dicom.dic cannot express.
  * pydicom's UID dictionary /usr/lib/python3/dist-packages/pydicom/_uid_dict.py
      UID -> (name, type, info, retired, keyword).
  The pydicom files are parsed with ast.literal_eval on the dict literals; pydicom is never imported.

Outputs (under src/QcPipeline.Dicom/Dictionary/):
  DicomDictionary.Generated.cs, DicomTags.Generated.cs, DicomUids.Generated.cs

Usage:
  python3 scripts/gen-dictionary.py            write the files
  python3 scripts/gen-dictionary.py --check    regenerate in memory; exit 1 if the committed files differ
  --dcmtk PATH / --pydicom-dir DIR override the source locations.

Decisions (kept deliberately explicit):
  * Only public PS3.6 data elements are emitted. dicom.dic also holds DCMTK-internal catch-all rows
    whose version column is PRIVATE (PrivateGroupLength, PrivateCreator), ILLEGAL (IllegalGroupLength,
    IllegalPrivateCreator) and GENERIC (GenericGroupLength); these are skipped: group lengths and private
    creators are handled by hand-written code in DicomDictionary.Lookup. Rows tagged DICOM/DICONDE and
    DICOM/DICOS are kept: they are part of PS3.6.
  * DCMTK writes a retired keyword as "RETIRED_<Keyword>"; the prefix is removed (the PS3.6 keyword is
    the part after it) and the entry is marked retired. An entry is retired when either source says so.
  * Repeating groups "(gggg-gggg,eeee)" (even groups only in DCMTK's notation) and element ranges
    "(gggg,eeee-eeee)" become one entry with a mask: a tag t matches when (t & Mask) == (Tag & Mask).
    Only ranges covering a full xx00-xxFF byte are accepted, anything else stops the generator.
  * dicom.dic lists single instances such as (0028,0410) or (1000,0010) for PS3.6 patterns
    (0028,04x0), (1000,xxx0), (1010,xxxx) (its own pattern rows are commented out). Those instances are
    replaced by pydicom's RepeatersDictionary patterns, which give the full PS3.6 coverage; the entry
    keeps DCMTK's instance as its representative Tag (the all-x instance (1000,0000) would be a group
    length), which is also the value of the DicomTags constant.
  * DCMTK pseudo VRs: xs -> US (alternate SS); ox and px -> OW (alternate OB; OW is what implicit VR
    little endian uses, PS3.5 A.1); lt -> OW (alternate US); up -> UL; na -> None (items/delimiters).
  * Name: pydicom's name for the same tag or pattern; otherwise derived from the keyword.
  * UIDs without a keyword in pydicom's table (two unnamed retired SOP classes) are skipped.
  * Identifiers: a keyword that is a C# keyword gets '@', one starting with a digit gets '_'.
  * Output is sorted (tags by value, repeaters by tag then mask, UIDs by their numeric
    components) and written with '\\n' line ends, so re-running is byte-identical.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys

DEFAULT_DCMTK = "/usr/share/libdcmtk17/dicom.dic"
DEFAULT_PYDICOM_DIR = "/usr/lib/python3/dist-packages/pydicom"
OUT_DIR = os.path.join("src", "QcPipeline.Dicom", "Dictionary")
ENTRIES_PER_PART = 128

REAL_VRS = {
    "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV", "OW",
    "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV",
}
PSEUDO_VRS = {"xs": ("US", "SS"), "ox": ("OW", "OB"), "px": ("OW", "OB"), "lt": ("OW", "US"), "up": ("UL", None), "na": (None, None)}
SKIPPED_VERSIONS = {"PRIVATE", "ILLEGAL", "GENERIC"}
KEPT_VERSIONS = {"DICOM", "DICOM/retired", "DICOM/DICONDE", "DICOM/DICOS"}

CSHARP_KEYWORDS = set(
    "abstract as base bool break byte case catch char checked class const continue decimal default delegate do double "
    "else enum event explicit extern false finally fixed float for foreach goto if implicit in int interface internal is "
    "lock long namespace new null object operator out override params private protected public readonly ref return sbyte "
    "sealed short sizeof stackalloc static string struct switch this throw true try typeof uint ulong unchecked unsafe "
    "ushort using virtual void volatile while".split()
)
# Members the hand-written partial classes declare; a generated constant must not clash with them.
RESERVED_MEMBERS = {
    "DicomTags": {"DicomTags"},
    "DicomUids": {"DicomUids", "Lookup", "IsStorageSopClass", "IsTransferSyntax", "All", "TypeSopClass", "TypeTransferSyntax"},
}


class Entry:
    __slots__ = ("tag", "mask", "keyword", "name", "vr", "alt", "vm", "retired")

    def __init__(self, tag, mask, keyword, name, vr, alt, vm, retired):
        self.tag, self.mask, self.keyword, self.name = tag, mask, keyword, name
        self.vr, self.alt, self.vm, self.retired = vr, alt, vm, retired


def fail(msg: str) -> None:
    sys.stderr.write(f"gen-dictionary: {msg}\n")
    sys.exit(2)


def read_dict_literals(path: str) -> dict:
    """Return {variable name: literal value} for the top-level dict assignments of a Python file."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value = node.target.id, node.value
        else:
            continue
        if isinstance(value, ast.Dict):
            out[name] = ast.literal_eval(value)
    return out


def read_pydicom_version(pydicom_dir: str) -> str:
    try:
        with open(os.path.join(pydicom_dir, "_version.py"), encoding="utf-8") as f:
            m = re.search(r"__version__[^=]*=\s*['\"]([^'\"]+)['\"]", f.read())
            return m.group(1) if m else "unknown"
    except OSError:
        return "unknown"


def parse_range(text: str, what: str) -> tuple[int, int]:
    """'6000-60FF' -> (value 0x6000, mask 0xFF00); '3100' -> (0x3100, 0xFFFF). Only even (default) ranges."""
    if re.fullmatch(r"[0-9A-F]{4}", text):
        return int(text, 16), 0xFFFF
    m = re.fullmatch(r"([0-9A-F]{4})-([0-9A-F]{4})", text)
    if not m:
        fail(f"unsupported {what} range '{text}'")
    lo, hi = int(m.group(1), 16), int(m.group(2), 16)
    if (lo & 0xFF) != 0 or hi != lo | 0xFF:
        fail(f"{what} range '{text}' is not a whole xx00-xxFF block")
    return lo, 0xFF00


def derive_name(keyword: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", keyword)
    s = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", " ", s)
    return s


def pattern_to_tag_mask(pattern: str) -> tuple[int, int]:
    """pydicom repeater key such as '60xx3000' -> (0x60003000, 0xFF00FFFF)."""
    if not re.fullmatch(r"[0-9A-Fx]{8}", pattern):
        fail(f"unexpected repeater pattern '{pattern}'")
    tag = int(pattern.replace("x", "0"), 16)
    mask = int("".join("0" if c == "x" else "F" for c in pattern), 16)
    return tag, mask


def map_vr(code: str, where: str) -> tuple[str, str]:
    if code in REAL_VRS:
        return code, "None"
    if code in PSEUDO_VRS:
        vr, alt = PSEUDO_VRS[code]
        return vr or "None", alt or "None"
    fail(f"unknown VR '{code}' at {where}")
    raise AssertionError


def load_tags(dcmtk_path: str, pyd_tags: dict, pyd_repeaters: dict) -> tuple[list[Entry], str]:
    header = ""
    rows = []
    with open(dcmtk_path, encoding="latin-1") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line.startswith("#"):
                m = re.match(r"#\s*(Generated automatically from .*)$", line)
                if m and not header:
                    header = m.group(1).strip()
                continue
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != 5:
                fail(f"bad dicom.dic line: {line!r}")
            rows.append(fields)

    repeater_instances = {}  # keyword -> pydicom pattern, for the patterns dicom.dic lists as single instances
    for pattern, (_vr, _vm, _name, _ret, kw) in pyd_repeaters.items():
        repeater_instances[kw] = pattern

    entries: dict[tuple[int, int], Entry] = {}
    used_patterns = set()
    for tag_text, vr_code, raw_kw, vm, version in rows:
        if version in SKIPPED_VERSIONS:
            continue
        if version not in KEPT_VERSIONS:
            fail(f"unknown version column '{version}' for {tag_text}")
        m = re.fullmatch(r"\(([0-9A-F-]+),([0-9A-F-]+)\)", tag_text)
        if not m:
            fail(f"bad tag '{tag_text}'")
        group, gmask = parse_range(m.group(1), "group")
        elem, emask = parse_range(m.group(2), "element")
        tag, mask = (group << 16) | elem, (gmask << 16) | emask
        retired = version == "DICOM/retired"
        keyword = raw_kw[len("RETIRED_"):] if raw_kw.startswith("RETIRED_") else raw_kw
        if raw_kw.startswith("RETIRED_") != retired:
            fail(f"retired prefix and version disagree for {tag_text} {raw_kw}")
        vr, alt = map_vr(vr_code, tag_text)

        name = None
        if mask == 0xFFFFFFFF:
            if keyword in repeater_instances and tag not in pyd_tags:
                pattern = repeater_instances[keyword]
                ptag, pmask = pattern_to_tag_mask(pattern)
                if (tag & pmask) != ptag:
                    fail(f"{tag_text} {keyword} is not an instance of pydicom pattern {pattern}")
                mask = pmask  # keep DCMTK's concrete instance as the representative tag
                name = pyd_repeaters[pattern][2]
                retired = retired or pyd_repeaters[pattern][3] == "Retired"
                used_patterns.add(pattern)
            elif tag in pyd_tags:
                p = pyd_tags[tag]
                if p[4] and p[4] != keyword:
                    fail(f"keyword differs for {tag_text}: dcmtk {keyword}, pydicom {p[4]}")
                name = p[2] or None
                retired = retired or p[3] == "Retired"
        else:
            for pattern, p in pyd_repeaters.items():
                if pattern_to_tag_mask(pattern) == (tag, mask):
                    if p[4] != keyword:
                        fail(f"keyword differs for {tag_text}: dcmtk {keyword}, pydicom {p[4]}")
                    name = p[2] or None
                    retired = retired or p[3] == "Retired"
                    used_patterns.add(pattern)
                    break
        if name is None:
            name = derive_name(keyword)

        key = (tag, mask)
        if key in entries:
            fail(f"duplicate entry {tag_text}")
        entries[key] = Entry(tag, mask, keyword, name, vr, alt, vm, retired)

    unused = sorted(set(pyd_repeaters) - used_patterns)
    if unused:
        sys.stderr.write(f"gen-dictionary: note: pydicom repeaters not in dicom.dic (ignored): {', '.join(unused)}\n")

    result = sorted(entries.values(), key=lambda e: (e.mask != 0xFFFFFFFF, e.tag, e.mask))
    seen = {}
    for e in result:
        if e.keyword in seen:
            fail(f"duplicate keyword {e.keyword}")
        seen[e.keyword] = e
        if not re.fullmatch(r"[A-Za-z0-9_]+", e.keyword):
            fail(f"keyword '{e.keyword}' is not identifier-safe")
    return result, header


def load_uids(pyd_uids: dict) -> list[tuple[str, str, str, str, bool]]:
    out = []
    for uid, (name, typ, _info, retired, keyword) in pyd_uids.items():
        if not keyword:
            continue  # unnamed retired entries in pydicom's table: nothing to call them
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)*", uid):
            fail(f"bad UID '{uid}'")
        if not re.fullmatch(r"[A-Za-z0-9_]+", keyword):
            fail(f"UID keyword '{keyword}' is not identifier-safe")
        out.append((uid, name, keyword, typ, retired == "Retired"))
    out.sort(key=lambda u: [int(p) for p in u[0].split(".")])
    kws = [u[2] for u in out]
    if len(kws) != len(set(kws)):
        fail("duplicate UID keyword")
    return out


def ident(keyword: str, cls: str) -> str:
    if keyword in RESERVED_MEMBERS.get(cls, ()):
        fail(f"{cls}.{keyword} would clash with a hand-written member")
    if keyword[0].isdigit():
        return "_" + keyword
    if keyword in CSHARP_KEYWORDS:
        return "@" + keyword
    return keyword


def cs_string(s: str) -> str:
    out = ['"']
    for c in s:
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif ord(c) < 0x20 or ord(c) > 0x7E:
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def xml(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def tag_text(e: Entry) -> str:
    digits = f"{e.tag:08X}"
    mask = f"{e.mask:08X}"
    shown = "".join(d if m == "F" else "x" for d, m in zip(digits, mask))
    return f"({shown[:4]},{shown[4:]})"


def header_lines(sources: list[str]) -> list[str]:
    lines = [
        "// <auto-generated/>",
        "// Generated by scripts/gen-dictionary.py; do not edit by hand, re-run the script instead.",
        "// Sources:",
    ]
    lines += [f"//   {s}" for s in sources]
    lines += ["#nullable enable", ""]
    return lines


def gen_dictionary(entries: list[Entry], sources: list[str]) -> str:
    L = header_lines(sources)
    L += [
        "namespace QcPipeline.Dicom;",
        "",
        "public static partial class DicomDictionary",
        "{",
        f"    /// <summary>Number of generated entries ({sum(1 for e in entries if e.mask == 0xFFFFFFFF)} plain tags, "
        f"{sum(1 for e in entries if e.mask != 0xFFFFFFFF)} repeating groups or ranges).</summary>",
        f"    internal const int GeneratedEntryCount = {len(entries)};",
        "",
        "    // E(tag, keyword, name, VR, VM, alternate VR, retired, mask)",
        "    // The table is split into parts of " + str(ENTRIES_PER_PART) + " entries: one huge method costs far more to JIT than many small ones.",
    ]
    parts = [entries[i:i + ENTRIES_PER_PART] for i in range(0, len(entries), ENTRIES_PER_PART)]
    L.append("    private static DicomDictionaryEntry[] CreateEntries() =>")
    L.append("        [" + ", ".join(f"..Part{i:02d}()" for i in range(len(parts))) + "];")
    for i, part in enumerate(parts):
        L += ["", f"    private static DicomDictionaryEntry[] Part{i:02d}() =>", "    ["]
        for e in part:
            args = [f"0x{e.tag:08X}", cs_string(e.keyword), cs_string(e.name), f"DicomVR.{e.vr}", cs_string(e.vm)]
            extra = []
            if e.alt != "None" or e.retired or e.mask != 0xFFFFFFFF:
                extra.append(f"DicomVR.{e.alt}")
            if e.retired or e.mask != 0xFFFFFFFF:
                extra.append("true" if e.retired else "false")
            if e.mask != 0xFFFFFFFF:
                extra.append(f"0x{e.mask:08X}")
            L.append(f"        E({', '.join(args + extra)}),")
        L.append("    ];")
    L += ["}", ""]
    return "\n".join(L)


def gen_tags(entries: list[Entry], sources: list[str]) -> str:
    L = header_lines(sources)
    L += [
        "namespace QcPipeline.Dicom;",
        "",
        "/// <summary>One constant per public PS3.6 keyword (retired included). Repeating groups and ranges give their first instance.</summary>",
        "public static partial class DicomTags",
        "{",
    ]
    for e in sorted(entries, key=lambda e: (e.tag, e.mask)):
        note = f"{tag_text(e)} {xml(e.name)}, VR {e.vr}" + (f" or {e.alt}" if e.alt != "None" else "") + f", VM {xml(e.vm)}"
        if e.retired:
            note += " (retired)"
        L.append(f"    /// <summary>{note}</summary>")
        L.append(f"    public static DicomTag {ident(e.keyword, 'DicomTags')} => new(0x{e.tag:08X});")
    L += ["}", ""]
    return "\n".join(L)


def gen_uids(uids, sources: list[str]) -> str:
    L = header_lines(sources)
    L += [
        "namespace QcPipeline.Dicom;",
        "",
        "public static partial class DicomUids",
        "{",
    ]
    for uid, name, keyword, typ, retired in uids:
        note = f"{xml(name)} ({xml(typ)}{', retired' if retired else ''})"
        L.append(f"    /// <summary>{note}</summary>")
        L.append(f"    public const string {ident(keyword, 'DicomUids')} = {cs_string(uid)};")
    L += [
        "",
        f"    internal const int GeneratedUidCount = {len(uids)};",
        "",
        "    private static DicomUidInfo[] CreateAll() =>",
        "    [",
    ]
    for uid, name, keyword, typ, retired in uids:
        L.append(f"        new({cs_string(uid)}, {cs_string(name)}, {cs_string(keyword)}, {cs_string(typ)}, {'true' if retired else 'false'}),")
    L += ["    ];", "}", ""]
    return "\n".join(L)


def find_repo_root() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    if not os.path.exists(os.path.join(root, "QcPipeline.sln")):
        fail(f"cannot find QcPipeline.sln above {here}")
    return root


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the committed files differ from fresh output")
    ap.add_argument("--dcmtk", default=DEFAULT_DCMTK)
    ap.add_argument("--pydicom-dir", default=DEFAULT_PYDICOM_DIR)
    args = ap.parse_args()

    for p in (args.dcmtk, os.path.join(args.pydicom_dir, "_dicom_dict.py"), os.path.join(args.pydicom_dir, "_uid_dict.py")):
        if not os.path.isfile(p):
            fail(f"missing source file {p} (install the dcmtk and python3-pydicom Debian packages)")

    tag_dicts = read_dict_literals(os.path.join(args.pydicom_dir, "_dicom_dict.py"))
    uid_dicts = read_dict_literals(os.path.join(args.pydicom_dir, "_uid_dict.py"))
    if "DicomDictionary" not in tag_dicts or "RepeatersDictionary" not in tag_dicts or "UID_dictionary" not in uid_dicts:
        fail("pydicom dictionary files do not have the expected layout")

    entries, dcmtk_header = load_tags(args.dcmtk, tag_dicts["DicomDictionary"], tag_dicts["RepeatersDictionary"])
    uids = load_uids(uid_dicts["UID_dictionary"])

    pyd_version = read_pydicom_version(args.pydicom_dir)
    sources = [
        f"DCMTK dicom.dic ({os.path.basename(args.dcmtk)}{'; ' + dcmtk_header if dcmtk_header else ''})",
        f"pydicom {pyd_version} _dicom_dict.py (tag names, repeater patterns) and _uid_dict.py (UIDs)",
    ]

    outputs = {
        "DicomDictionary.Generated.cs": gen_dictionary(entries, sources),
        "DicomTags.Generated.cs": gen_tags(entries, sources),
        "DicomUids.Generated.cs": gen_uids(uids, sources),
    }

    root = find_repo_root()
    out_dir = os.path.join(root, OUT_DIR)
    if args.check:
        stale = []
        for fname, text in outputs.items():
            path = os.path.join(out_dir, fname)
            try:
                with open(path, "rb") as f:
                    current = f.read()
            except OSError:
                current = None
            if current != text.encode("utf-8"):
                stale.append(fname)
        if stale:
            sys.stderr.write(f"gen-dictionary: out of date: {', '.join(stale)} (run scripts/gen-dictionary.py)\n")
            return 1
        print(f"gen-dictionary: up to date ({len(entries)} tag entries, {len(uids)} UIDs)")
        return 0

    os.makedirs(out_dir, exist_ok=True)
    for fname, text in outputs.items():
        with open(os.path.join(out_dir, fname), "wb") as f:
            f.write(text.encode("utf-8"))
    print(f"gen-dictionary: wrote {len(outputs)} files ({len(entries)} tag entries, {len(uids)} UIDs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
