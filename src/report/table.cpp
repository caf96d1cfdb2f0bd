#include "report/table.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "util/error.h"

namespace lengen::report {
namespace {

// Display width in characters: UTF-8 continuation bytes don't count ("±", "θ" are one).
size_t display_width(const std::string& s) {
  return size_t(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

bool looks_numeric(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() || (end != s.c_str() && s.substr(end - s.c_str()) == "%");
}

void check_row_lengths(const Table& t) {
  for (size_t r = 0; r < t.rows.size(); ++r)
    if (t.rows[r].size() > t.header.size())
      fail("table row {} has {} cells but the header has {} columns", r + 1, t.rows[r].size(),
           t.header.size());
}

// The table with every row padded to the header's width, cells passed through `escape`.
struct Grid {
  std::vector<std::vector<std::string>> cells;  // cells[0] is the header
  std::vector<size_t> width;
  std::vector<bool> right;  // right-align (numeric column)
};

template <typename Escape>
Grid make_grid(const Table& t, Escape escape) {
  check_row_lengths(t);
  const size_t ncol = t.header.size();
  Grid g;
  g.cells.reserve(t.rows.size() + 1);
  g.cells.push_back({});
  for (const auto& h : t.header) g.cells.back().push_back(escape(h));
  for (const auto& cells : t.rows) {
    std::vector<std::string> row;
    for (const auto& c : cells) row.push_back(escape(c));
    row.resize(ncol);
    g.cells.push_back(std::move(row));
  }
  g.width.assign(ncol, 0);
  std::vector<int> numbers(ncol, 0), words(ncol, 0);  // body cells per column
  for (size_t r = 0; r < g.cells.size(); ++r)
    for (size_t c = 0; c < ncol; ++c) {
      const std::string& cell = g.cells[r][c];
      g.width[c] = std::max(g.width[c], display_width(cell));
      if (r == 0 || cell.empty() || cell == "n/a") continue;
      ++(looks_numeric(cell) ? numbers : words)[c];
    }
  for (size_t c = 0; c < ncol; ++c) g.right.push_back(numbers[c] > 0 && words[c] == 0);
  return g;
}

std::string pad(const std::string& s, size_t width, bool right) {
  const std::string fill(width - std::min(width, display_width(s)), ' ');
  return right ? fill + s : s + fill;
}

std::string single_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

}  // namespace

std::string to_markdown(const Table& t) {
  Grid g = make_grid(t, [](const std::string& s) {
    std::string out;
    for (char c : single_line(s)) {
      if (c == '|') out += '\\';
      out += c;
    }
    return out;
  });
  for (auto& w : g.width) w = std::max<size_t>(w, 3);  // "---" is the shortest rule cell
  auto line = [&](const std::vector<std::string>& row) {
    std::string out = "|";
    for (size_t c = 0; c < row.size(); ++c)
      out += fmt::format(" {} |", pad(row[c], g.width[c], g.right[c]));
    return out + "\n";
  };
  std::string out = line(g.cells[0]) + "|";
  for (size_t c = 0; c < g.width.size(); ++c)
    out += fmt::format(" {:-<{}}{} |", "", g.width[c] - g.right[c], g.right[c] ? ":" : "");
  out += "\n";
  for (size_t r = 1; r < g.cells.size(); ++r) out += line(g.cells[r]);
  return out;
}

std::string to_csv(const Table& t) {
  auto field = [](const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
      if (c == '"') out += '"';
      out += c;
    }
    return out + "\"";
  };
  auto line = [&](const std::vector<std::string>& row, size_t ncol) {
    std::string out;
    for (size_t c = 0; c < ncol; ++c) {
      if (c) out += ',';
      if (c < row.size()) out += field(row[c]);
    }
    return out + "\n";
  };
  check_row_lengths(t);
  std::string out = line(t.header, t.header.size());
  for (const auto& row : t.rows) out += line(row, t.header.size());
  return out;
}

std::string to_text(const Table& t) {
  const Grid g = make_grid(t, single_line);
  auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (size_t c = 0; c < row.size(); ++c)
      out += fmt::format("{}{}", c ? "  " : "", pad(row[c], g.width[c], g.right[c]));
    out.erase(out.find_last_not_of(' ') + 1);
    return out + "\n";
  };
  std::vector<std::string> rule;
  for (size_t w : g.width) rule.emplace_back(w, '-');
  std::string out = line(g.cells[0]) + line(rule);
  for (size_t r = 1; r < g.cells.size(); ++r) out += line(g.cells[r]);
  return out;
}

std::string format_percent(double fraction, int decimals) {
  if (decimals < 0 || decimals > 15)
    fail("format_percent: decimals must be 0..15, got {}", decimals);
  if (std::isnan(fraction)) return "n/a";
  std::string s = fmt::format("{:.{}f}", fraction * 100.0, decimals);
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);  // "-0.0"
  return s;
}

}  // namespace lengen::report
