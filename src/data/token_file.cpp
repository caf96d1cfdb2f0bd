#include "data/token_file.h"

#include <fstream>

#include "util/error.h"

namespace lengen {

std::vector<int32_t> parse_token_list(const std::string& text, const std::string& where) {
  std::vector<int32_t> out;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == ',' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
      continue;
    }
    if (c < '0' || c > '9')
      fail("{}, column {}: expected a token id (non-negative integer), found '{}'", where, i + 1, c);
    int64_t v = 0;
    const size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      v = v * 10 + (text[i] - '0');
      if (v > INT32_MAX) fail("{}, column {}: token id too large", where, start + 1);
      ++i;
    }
    out.push_back(int32_t(v));
  }
  return out;
}

std::vector<std::vector<int32_t>> read_token_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("cannot open token file {}", path);
  std::vector<std::vector<int32_t>> lines;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    auto ids = parse_token_list(line, fmt::format("{}:{}", path, number));
    if (!ids.empty()) lines.push_back(std::move(ids));
  }
  if (in.bad()) fail("error reading {}", path);
  return lines;
}

}  // namespace lengen
