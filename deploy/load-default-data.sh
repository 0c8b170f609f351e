#!/usr/bin/env bash
# Imports and publishes the default data into a running codebookd, in effective-date order.
#
#   deploy/load-default-data.sh [--server=HOST:PORT] [DATA_DIR]
#
# DATA_DIR defaults to ../shared/data beside the repo when it exists (the official ICD-10-CM,
# ICD-10-PCS and HCPCS releases), else the repo's own sample (data/sample). Folder names give
# versions:
#   ICD-10-CM, ICD-10-PCS  YYYY    -> FY<YYYY>,    effective (YYYY-1)-10-01
#                          YYYY-MM -> FY<YYYY>-MM, effective YYYY-MM-01
#   HCPCS                  YYYY    -> <YYYY>,      effective YYYY-01-01 (the fixed-width file,
#                                     or the workbook where the folder has only that)
#   CPT        YYYY    -> <YYYY>,      effective YYYY-01-01 (a folder of the AMA data files)
# An ICD-10-CM folder's Tabular List (icd10cm_tabular_YYYY.xml[.gz]) is loaded as the release of
# the supplement ICD10CM-TABULAR bound to that folder's ICD10CM release, and its index files
# (icd10cm_index_YYYY.xml with _eindex_, _drug_, _neoplasm_) as the release of ICD10CM-INDEX;
# an ICD-10-PCS folder's Tables (icd10pcs_tables_YYYY.xml) as ICD10PCS-TABLES, and its Index
# and Definitions (icd10pcs_index_YYYY.xml, _definitions_) as ICD10PCS-INDEX.
# CPT text is licensed by the AMA: when DATA_DIR has no cpt/ folder, the repo's synthetic CPT
# sample (data/sample/cpt, invented descriptors in the AMA layouts) is loaded instead.
# Releases already published are skipped, so running it again imports nothing twice.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
server="127.0.0.1:50051"
data=""
for arg in "$@"; do
  case "$arg" in
    --server=*) server="${arg#--server=}" ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) data="$arg" ;;
  esac
done
if [[ -z "$data" ]]; then
  if [[ -d "$here/../shared/data/icd10cm" ]]; then data="$(cd "$here/../shared/data" && pwd)"
  else data="$here/data/sample"; fi
fi
cli="${CODEBOOK_CLI:-$here/build/client/codebook}"
echo "loading default data from $data into $server"

# Lines "effective<TAB>system<TAB>version<TAB>format<TAB>file", sorted by effective date.
plan=$(
  # ICD-10-CM and ICD-10-PCS: the order file of each version folder (the publishers spell its
  # name with hyphens or underscores; the addenda are not releases).
  for kind in cm pcs; do
    system=$([[ $kind == cm ]] && echo ICD10CM || echo ICD10PCS)
    for dir in "$data"/icd10$kind/*/; do
      [[ -d "$dir" ]] || continue
      folder=$(basename "$dir")
      [[ "$folder" =~ ^([0-9]{4})(-([0-9]{2}))?$ ]] || continue
      year=${BASH_REMATCH[1]} month=${BASH_REMATCH[3]}
      if [[ -n "$month" ]]; then version="FY$year-$month" effective="$year-$month-01"
      else version="FY$year" effective="$((year - 1))-10-01"; fi
      file=$(ls "$dir" | grep -E "^icd10$kind[-_]order[-_].*\.txt(\.gz)?\$" | grep -v addenda | head -1 || true)
      [[ -n "$file" ]] || continue
      printf '%s\t%s\t%s\ticd10%s-order\t%s\n' "$effective" "$system" "$version" "$kind" "$dir$file"
      # The Tabular List, where the folder has it: the release's supplement ICD10CM-TABULAR.
      tabular=$(ls "$dir" | grep -E "^icd10cm_tabular_.*\.xml(\.gz)?\$" | head -1 || true)
      if [[ $kind == cm && -n "$tabular" ]]; then
        printf '%s\t%s\t%s\ticd10cm-tabular\t%s\n' "$effective" ICD10CM-TABULAR "$version" "$dir$tabular"
      fi
      # The Index (with the External Cause Index, drug and neoplasm tables): ICD10CM-INDEX.
      if [[ $kind == cm ]] && compgen -G "${dir}icd10cm_index_*.xml*" > /dev/null; then
        printf '%s\t%s\t%s\ticd10cm-index\t%s\n' "$effective" ICD10CM-INDEX "$version" "${dir%/}"
      fi
      # ICD-10-PCS Tables (ICD10PCS-TABLES), and its Index with the Definitions (ICD10PCS-INDEX).
      tables=$(ls "$dir" | grep -E "^icd10pcs_tables_.*\.xml(\.gz)?\$" | head -1 || true)
      if [[ $kind == pcs && -n "$tables" ]]; then
        printf '%s\t%s\t%s\ticd10pcs-tables\t%s\n' "$effective" ICD10PCS-TABLES "$version" "$dir$tables"
      fi
      if [[ $kind == pcs ]] && compgen -G "${dir}icd10pcs_index_*.xml*" > /dev/null; then
        printf '%s\t%s\t%s\ticd10pcs-index\t%s\n' "$effective" ICD10PCS-INDEX "$version" "${dir%/}"
      fi
    done
  done
  # HCPCS: the fixed-width file, else the workbook (hcpcs/2023 has only that).
  for dir in "$data"/hcpcs/*/; do
    [[ -d "$dir" ]] || continue
    folder=$(basename "$dir")
    [[ "$folder" =~ ^[0-9]{4}$ ]] || continue
    file=$(ls "$dir" | grep -E '^HCPC.*ANWEB.*\.txt(\.gz)?$' | head -1 || true)
    if [[ -n "$file" ]]; then
      printf '%s-01-01\tHCPCS\t%s\thcpcs\t%s\n' "$folder" "$folder" "$dir$file"
    else
      file=$(ls "$dir" | grep -E '^HCPC.*ANWEB.*\.xlsx$' | head -1 || true)
      [[ -n "$file" ]] && printf '%s-01-01\tHCPCS\t%s\thcpcs-xlsx\t%s\n' "$folder" "$folder" "$dir$file"
    fi
  done
  cpt="$data/cpt"; [[ -d "$cpt" ]] || cpt="$here/data/sample/cpt"
  for dir in "$cpt"/*/; do
    folder=$(basename "$dir")
    [[ "$folder" =~ ^[0-9]{4}$ && -f "$dir/LONGULT.txt" ]] || continue
    printf '%s-01-01\tCPT\t%s\tcpt\t%s\n' "$folder" "$folder" "${dir%/}"
  done
)
# Byte order: a supplement ("ICD10CM-TABULAR") sorts after its base system ("ICD10CM") of the
# same date, so that the release it is bound to is published first.
plan=$(LC_ALL=C sort <<<"$plan")
[[ -n "$plan" ]] || { echo "no release files found under $data" >&2; exit 1; }
while IFS=$'\t' read -r effective system version format file; do
  echo "== $system $version (effective $effective): $(basename "$file")"
  "$cli" --server="$server" import --system="$system" --version="$version" \
    --effective="$effective" --format="$format" --publish --skip-existing "$file" >/dev/null
done <<<"$plan"
# ICD-10-CM conversion tables: predecessor and successor codes, shown by `codebook history`.
for table in "$data"/icd10cm/conversion/*.xlsx; do
  [[ -f "$table" ]] || continue
  echo "== ICD10CM conversion table: $(basename "$table")"
  "$cli" --server="$server" import-links --system=ICD10CM "$table"
done
