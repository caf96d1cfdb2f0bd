#include "report/extra_results.h"

#include <algorithm>
#include <filesystem>

#include "io/atomic_file.h"
#include "report/study.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace lengen::report {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool is_lm_csv(const std::string& name) { return name.find("perplexity") != std::string::npos; }
bool is_attention_csv(const std::string& name) {
  return name.rfind("distance", 0) == 0 || name.find("attention") != std::string::npos ||
         name.rfind("attended", 0) == 0;  // lengen analyze attended
}

}  // namespace

std::vector<ExtraResults> find_extra_results(const std::vector<std::string>& roots,
                                             const std::vector<std::string>& skip) {
  std::vector<ExtraResults> out;
  for_each_result_dir(roots, skip, [&](const fs::path& dir) {
    ExtraResults r;
    r.dir = dir.string();
    bool lm = false, attention = false;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      const std::string name = lower(e.path().filename().string()), ext = lower(e.path().extension().string());
      if (ext == ".csv" && (is_lm_csv(name) || is_attention_csv(name))) {
        r.csv_files.push_back(e.path().string());
        lm = lm || is_lm_csv(name);
        attention = attention || is_attention_csv(name);
      }
      if (ext == ".png" || ext == ".svg") r.images.push_back(e.path().string());
    }
    if (r.csv_files.empty()) return;
    r.kind = lm ? "lm" : "attention";
    std::sort(r.csv_files.begin(), r.csv_files.end());
    std::sort(r.images.begin(), r.images.end());
    out.push_back(std::move(r));
  });
  std::sort(out.begin(), out.end(), [](const ExtraResults& a, const ExtraResults& b) { return a.dir < b.dir; });
  return out;
}

Table read_csv_table(const std::string& path) {
  const std::string text = io::read_file(path);
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false, row_open = false;
  size_t line = 1, quote_line = 0;
  auto end_field = [&] {
    rows.back().push_back(field);
    field.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      quote_line = line;
      row_open = true;
    } else if (c == ',') {
      end_field();
      row_open = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (row_open || !field.empty()) end_field();
      if (!rows.back().empty()) rows.emplace_back();
      row_open = false;
      ++line;
    } else {
      field += c;
      row_open = true;
    }
  }
  if (quoted) fail("{}:{}: unterminated quoted field", path, quote_line);
  if (row_open || !field.empty()) end_field();
  if (rows.back().empty()) rows.pop_back();
  if (rows.empty()) fail("{}: empty CSV file", path);
  Table t;
  t.header = rows.front();
  for (size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() > t.header.size())
      fail("{}: row {} has {} fields but the header has {}", path, r + 1, rows[r].size(), t.header.size());
    t.rows.push_back(rows[r]);
  }
  return t;
}

}  // namespace lengen::report
