// Results of the other study tools shown in `lengen report` when present: language-model
// perplexity versus length (`lengen lm ...`) and attention analyses (`lengen analyze ...`).
// Their formats are still evolving, so the reader only relies on file names:
//   - a directory holding a CSV whose name contains "perplexity" (e.g. lm_perplexity.csv) is
//     an LM result; one holding distance*.csv or a CSV whose name contains "attention" is an
//     attention analysis;
//   - its CSVs are shown as tables (header row + rows), its PNG/SVG images embedded.
#pragma once
#include <string>
#include <vector>

#include "report/table.h"

namespace lengen::report {

struct ExtraResults {
  std::string dir;
  std::string kind;  // "lm" or "attention"
  std::vector<std::string> csv_files, images;  // sorted paths
};

std::vector<ExtraResults> find_extra_results(const std::vector<std::string>& roots,
                                             const std::vector<std::string>& skip = {});

// A CSV file (RFC 4180: quoted fields, "" escapes, CRLF or LF) as a table, the first row the
// header. An unterminated quote is an error naming the file and line.
Table read_csv_table(const std::string& path);

}  // namespace lengen::report
