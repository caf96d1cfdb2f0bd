// Result tables rendered for reports (Markdown), spreadsheets (CSV) and the terminal (text).
#pragma once
#include <string>
#include <vector>

namespace lengen::report {

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // shorter rows are padded with empty cells
};

// Columns are padded to a common width. Numeric columns (body cells are numbers such as "95.3",
// "-1e-3" or "12%", apart from empty and "n/a" cells) are right-aligned. A row longer than the
// header is a lengen::Error.
std::string to_markdown(const Table& t);  // GitHub-flavoured; '|' in cells is escaped
std::string to_csv(const Table& t);       // RFC 4180 quoting, "\n" line ends
std::string to_text(const Table& t);      // header, dashed rule, rows; no trailing blanks

// 0.953 -> "95.3" (decimals = 1); NaN -> "n/a"; never "-0.0".
std::string format_percent(double fraction, int decimals = 1);

}  // namespace lengen::report
