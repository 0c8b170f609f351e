#!/usr/bin/env python3
"""Compares CMS's HCPCS fixed-width file with its workbook of the same release, reading the raw
files directly (gzip, zipfile and the workbook's XML; no code of Codebook's importers), and
prints every field that differs, one line each:

    CODE<TAB>FIELD<TAB>VALUE IN THE TEXT FILE<TAB>VALUE IN THE WORKBOOK

FIELD is the workbook's column header (the record layout's field). Codes found in only one of
the files are printed with FIELD "(only in txt)" or "(only in xlsx)". Values are compared as the
publisher means them: long descriptions rebuilt from all of a code's records (80-column slices
of the text file, cells of the workbook) with runs of white space collapsed, other fields trimmed.
The last line is a summary on standard error.

    tests/tools/hcpcs_raw_diff.py HCPC2025_JAN_ANWEB.txt[.gz] HCPC2025_JAN_ANWEB.xlsx
"""
import gzip
import re
import sys
import zipfile
import xml.etree.ElementTree as ET

# Field positions of the record layout (HCPC*_recordlayout.txt), 1-based start and length.
LAYOUT = [
    ("HCPC", 1, 5), ("SEQNUM", 6, 5), ("RECID", 11, 1), ("LONG DESCRIPTION", 12, 80),
    ("SHORT DESCRIPTION", 92, 28), ("PRICE1", 120, 2), ("PRICE2", 122, 2), ("PRICE3", 124, 2),
    ("PRICE4", 126, 2), ("MULT_PI", 128, 1), ("CIM1", 129, 6), ("CIM2", 135, 6),
    ("CIM3", 141, 6), ("MCM1", 147, 8), ("MCM2", 155, 8), ("MCM3", 163, 8),
    ("STATUTE", 171, 10)] + [("LABCERT%d" % (i + 1), 181 + 3 * i, 3) for i in range(8)] + [
    ("XREF%d" % (i + 1), 205 + 5 * i, 5) for i in range(5)] + [
    ("COV", 230, 1), ("ASC_GRP", 231, 2), ("ASC_DT", 233, 8), ("OPPS", 241, 3),
    ("OPPS_PI", 244, 1), ("OPPS_DT", 245, 8), ("PROCNOTE", 253, 4), ("BETOS", 257, 3)] + [
    ("TOS%d" % (i + 1), 261 + i, 1) for i in range(5)] + [
    ("ANEST_BU", 266, 3), ("ADD DT", 269, 8), ("ACT EFF DT", 277, 8), ("TERM DT", 285, 8),
    ("ACTION CD", 293, 1)]
# Per-record fields, not part of what a code is.
SKIP = {"HCPC", "SEQNUM", "RECID"}
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def collapse(s):
    return " ".join(s.split())


def text_file(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    codes = {}
    with opener(path, "rb") as f:
        for raw in f:
            line = raw.decode("latin-1").rstrip("\r\n")
            if len(line) < 11 or not line[5:10].isdigit() or line[10] not in "3478":
                continue
            line = line.ljust(320)
            code = line[0:5].strip()
            if line[10] in "48":
                codes[code]["LONG DESCRIPTION"] += line[11:91]
                continue
            codes[code] = {name: line[pos - 1:pos - 1 + n] if name == "LONG DESCRIPTION"
                           else line[pos - 1:pos - 1 + n].strip() for name, pos, n in LAYOUT}
    for fields in codes.values():
        fields["LONG DESCRIPTION"] = collapse(fields["LONG DESCRIPTION"])
    return codes


def workbook(path):
    z = zipfile.ZipFile(path)
    strings = []
    if "xl/sharedStrings.xml" in z.namelist():
        for si in ET.fromstring(z.read("xl/sharedStrings.xml")).iter(NS + "si"):
            strings.append("".join(t.text or "" for t in si.iter(NS + "t")))
    sheet = sorted(n for n in z.namelist() if re.match(r"xl/worksheets/sheet\d+\.xml$", n))[0]
    header, codes = None, {}
    for row in ET.fromstring(z.read(sheet)).iter(NS + "row"):
        cells = {}
        for c in row.iter(NS + "c"):
            col = re.match("[A-Z]+", c.get("r")).group()
            v, t = c.find(NS + "v"), c.get("t")
            if t == "s":
                cells[col] = strings[int(v.text)]
            elif t == "inlineStr":
                cells[col] = "".join(x.text or "" for x in c.iter(NS + "t"))
            else:
                cells[col] = v.text if v is not None and v.text else ""
        if header is None:
            if cells.get("A", "").strip().upper() == "HCPC":
                header = {col: " ".join(name.split()).upper() for col, name in cells.items()}
            continue
        fields = {header[col]: value for col, value in cells.items() if col in header}
        code = fields.get("HCPC", "").strip()
        if not code:
            continue
        if fields.get("RECID", "").strip() in ("4", "8"):
            codes[code]["LONG DESCRIPTION"] += " " + fields.get("LONG DESCRIPTION", "")
            continue
        codes[code] = {name: fields.get(name, "") if name == "LONG DESCRIPTION"
                       else fields.get(name, "").strip() for name, _, _ in LAYOUT}
    for fields in codes.values():
        fields["LONG DESCRIPTION"] = collapse(fields["LONG DESCRIPTION"])
    return codes


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    txt, xlsx = text_file(sys.argv[1]), workbook(sys.argv[2])
    lines = 0
    for code in sorted(set(txt) | set(xlsx)):
        if code not in xlsx or code not in txt:
            print("%s\t(only in %s)\t\t" % (code, "txt" if code in txt else "xlsx"))
            lines += 1
            continue
        for name, _, _ in LAYOUT:
            if name not in SKIP and txt[code][name] != xlsx[code][name]:
                print("%s\t%s\t%s\t%s" % (code, name, txt[code][name], xlsx[code][name]))
                lines += 1
    print("%d codes in the text file, %d in the workbook, %d differences" %
          (len(txt), len(xlsx), lines), file=sys.stderr)


if __name__ == "__main__":
    main()
