#!/usr/bin/env python3
"""Writes the seed corpus of the importer fuzz targets from the repository's test files.

Usage: make_seeds.py SEED_ROOT SAMPLE_DIR
Makes SEED_ROOT/<target>/ for fuzz_icd10_order, fuzz_icd10cm_xml (ICD-10-CM and ICD-10-PCS XML), fuzz_hcpcs, fuzz_cpt and
fuzz_xlsx. The storage
targets' seeds come from the fuzz_seeds program (it uses the real encoders).
Large files are cut to their first lines: the fuzzers mutate small inputs faster.
"""
import io
import os
import sys
import zipfile

MAX_LINES = 60
# fuzz_cpt: the first byte picks the file, in the order of kFiles in fuzz_cpt.cc.
CPT_FILES = ["LONGULT.txt", "SHORTU.txt", "MEDU.txt", "ConsumerDescriptor.txt",
             "ClinicianDescriptor.txt", "MODUL.txt", "History_DTK_tab.txt",
             "HistoryModifiers_DTK_tab.txt", "Deleted_DTK_tab.txt"]


def head(path):
    with open(path, "rb") as f:
        return b"".join(f.readlines()[:MAX_LINES])


def write(target_dir, name, data):
    os.makedirs(target_dir, exist_ok=True)
    with open(os.path.join(target_dir, name), "wb") as f:
        f.write(data)


def cell(col, row, text):
    esc = text.replace("&", "&amp;").replace("<", "&lt;")
    return '<c r="%s%d" t="inlineStr"><is><t>%s</t></is></c>' % (col, row, esc)


def sheet(rows):
    out = ['<?xml version="1.0"?><worksheet><sheetData>']
    for r, values in enumerate(rows, 1):
        out.append('<row r="%d">' % r)
        for c, v in enumerate(values):
            if v:
                out.append(cell(chr(ord("A") + c), r, v))
        out.append("</row>")
    out.append("</sheetData></worksheet>")
    return "".join(out).encode()


def workbook(sheet_xml, strings_xml=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if strings_xml:
            z.writestr("xl/sharedStrings.xml", strings_xml)
    return buf.getvalue()


def main():
    root, sample = sys.argv[1], sys.argv[2]
    n = 0
    # The XML files whole, the first byte picking the importer (fuzz_icd10cm_xml.cc).
    picks = [("icd10cm_tabular", 0), ("icd10cm_", 1), ("icd10pcs_tables", 2),
             ("icd10pcs_index", 3), ("icd10pcs_definitions", 4)]
    for kind in ("icd10cm", "icd10pcs"):
        for dirpath, _, files in os.walk(os.path.join(sample, kind)):
            for name in sorted(files):
                path = os.path.join(dirpath, name)
                if name.endswith(".xml"):
                    pick = next(p for prefix, p in picks if name.startswith(prefix))
                    with open(path, "rb") as f:
                        write(os.path.join(root, "fuzz_icd10cm_xml"), "seed%d" % n,
                              bytes([pick]) + f.read())
                else:
                    write(os.path.join(root, "fuzz_icd10_order"), "seed%d" % n, head(path))
                n += 1
    for dirpath, _, files in os.walk(os.path.join(sample, "hcpcs")):
        for name in sorted(files):
            write(os.path.join(root, "fuzz_hcpcs"), "seed%d" % n, head(os.path.join(dirpath, name)))
            n += 1
    for dirpath, _, files in os.walk(os.path.join(sample, "cpt")):
        for name in sorted(files):
            if name in CPT_FILES:
                data = bytes([CPT_FILES.index(name)]) + head(os.path.join(dirpath, name))
                write(os.path.join(root, "fuzz_cpt"), "seed%d" % n, data)
                n += 1

    # Workbooks in the two layouts the spreadsheet importers read, as XML pairs (odd first
    # byte) and as whole files (even first byte).
    hcpcs = [["Notes: synthetic workbook"],
             ["HCPC", "SEQNUM", "RECID", "LONG DESCRIPTION", "SHORT DESCRIPTION", "ADD DT",
              "ACT EFF DT", "TERM DT", "ACTION CD"],
             ["A0021", "00100", "3", "Ambulance service, outside state per mile, transport",
              "Outside state ambulance serv", "19950101", "20190101", "", "N"],
             ["A0021", "00200", "4", "(medicaid only)", "", "", "", "", ""],
             ["G0001", "00100", "3", "Routine venipuncture", "Drawing blood", "42000", "", "20121231", "D"],
             ["25", "00100", "7", "Significant, separately identifiable e/m service", "Sig sep e/m",
              "19970101", "", "", "N"]]
    conversion = [["Note: synthetic conversion table"],
                  ["Current code assignment", "Effective", "Previous Code(s) Assignment"],
                  ["E11.65", "2016", "E11.69"],
                  ["T81.30XA", "2023", "Codes in categories T81.3-T81.4"],
                  ["Z11.52", "2021", "None"]]
    shared = (b'<?xml version="1.0"?><sst><si><t>A0021</t></si><si><r><t>rich </t></r>'
              b'<r><t>text</t></r></si></sst>')
    shared_sheet = (b'<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c>'
                    b'<c r="B1" t="s"><v>1</v></c><c r="C1"><v>43466</v></c></row></sheetData></worksheet>')
    xdir = os.path.join(root, "fuzz_xlsx")
    for i, rows in enumerate([hcpcs, conversion]):
        write(xdir, "pair%d" % i, b"\x01" + sheet(rows))
        write(xdir, "file%d" % i, b"\x00" + workbook(sheet(rows)))
    write(xdir, "pair_shared", b"\x01" + shared_sheet + b"\x00" + shared)
    write(xdir, "file_shared", b"\x00" + workbook(shared_sheet, shared))


if __name__ == "__main__":
    main()
