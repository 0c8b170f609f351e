#!/usr/bin/env python3
"""Prints a Markdown table of every release a running codebookd holds: system, version,
effective date, concepts, billable codes added and removed against the predecessor, with the
counts that ../shared/data/SOURCES.md measured in the publishers' files beside them (where it has
them) and whether they are equal.

    bench/release_table.py CODEBOOK_CLI HOST:PORT
"""
import json
import subprocess
import sys

# SOURCES.md: (total concepts, billable added, billable removed, added, deleted); None where it
# has no figure.
# 3.1 order-file lines; 3.2 valid codes added / removed (ICD-10-CM); 3.3 lines, codes added /
# removed (ICD-10-PCS); 3.4 codes in the file (HCPCS) and 3.4's step table (new codes in the
# file / dropped from it, which for HCPCS are the procedures and modifiers added and deleted).
OFFICIAL = {
    ("ICD10CM", "FY2017"): (93830, None, None, None, None),
    ("ICD10CM", "FY2021-01"): (95358, None, None, None, None),
    ("ICD10CM", "FY2022"): (95524, 159, 32, None, None),
    ("ICD10CM", "FY2022-04"): (95528, 3, 1, None, None),
    ("ICD10CM", "FY2023"): (96745, 1176, 287, None, None),
    ("ICD10CM", "FY2023-04"): (96795, 42, 7, None, None),
    ("ICD10CM", "FY2024"): (97296, 395, 25, None, None),
    ("ICD10CM", "FY2025"): (97584, 252, 36, None, None),
    # 3.5: a Tabular's entries are its chapters, sections and diags (21 + 295 + 43,910, ...).
    ("ICD10CM-TABULAR", "FY2017"): (44226, None, None, None, None),
    ("ICD10CM-TABULAR", "FY2021-01"): (45335, None, None, None, None),
    ("ICD10CM-TABULAR", "FY2023"): (46187, None, None, None, None),
    # 3.5: the index files' mainTerm + term elements (77,199 + 7,572 + 7,416 + 1,930).
    ("ICD10CM-INDEX", "FY2017"): (94117, None, None, None, None),
    ("ICD10PCS", "FY2023-04"): (79431, None, None, None, None),
    ("ICD10PCS", "FY2024-04"): (79543, 119, 11, None, None),
    ("ICD10PCS", "FY2025"): (79856, 371, 61, None, None),
    ("ICD10PCS", "FY2026"): (80029, 206, 39, None, None),
    ("HCPCS", "2017"): (6498, None, None, None, None),
    ("HCPCS", "2018"): (6559, None, None, 168, 107),
    ("HCPCS", "2019"): (6800, None, None, 244, 3),
    ("HCPCS", "2023"): (7785, None, None, None, None),
    ("HCPCS", "2025"): (8642, None, None, None, None),
}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    cli, server = sys.argv[1:]
    print("| system | version | effective | concepts | billable +/- | added / deleted "
          "| SOURCES.md: concepts, billable +/-, added / deleted | equal |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | --- |")
    unequal = 0
    for system in ("ICD10CM", "ICD10CM-TABULAR", "ICD10CM-INDEX", "ICD10PCS", "HCPCS", "CPT"):
        out = subprocess.run([cli, "--server=" + server, "--json", "releases", "--system=" + system],
                             check=True, capture_output=True, text=True).stdout
        for r in json.loads(out).get("releases", []):
            if r.get("state") != "RELEASE_STATE_PUBLISHED":
                continue
            c = r.get("counts", {})
            ours = (int(c.get("total", 0)), int(c.get("billableAdded", 0)),
                    int(c.get("billableRemoved", 0)), int(c.get("added", 0)),
                    int(c.get("deleted", 0)))
            official = OFFICIAL.get((system, r["version"]))
            if official is None:
                shown, equal = "-", "-"
            else:
                parts = [str(official[0])]
                if official[1] is not None:
                    parts.append("+%d / -%d" % official[1:3])
                if official[3] is not None:
                    parts.append("%d / %d" % official[3:5])
                shown = ", ".join(parts)
                same = all(o is None or o == v for o, v in zip(official, ours))
                equal = "yes" if same else "**no**"
                unequal += not same
            print("| %s | %s | %s | %d | +%d / -%d | %d / %d | %s | %s |" % (
                system, r["version"], r["effectiveDate"], *ours, shown, equal))
    if unequal:
        print("%d releases differ from SOURCES.md" % unequal, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
