#include "util/json_parse.h"

#include <set>
#include <vector>

namespace lengen {
namespace {

// 1-based line and column of byte `pos`.
std::pair<size_t, size_t> line_column(std::string_view text, size_t pos) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < pos && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> "parse error at ...".
std::string strip_exception_id(const std::string& what) {
  const size_t close = what.find("] ");
  return what.rfind("[json.exception.", 0) == 0 && close != std::string::npos ? what.substr(close + 2)
                                                                              : what;
}

}  // namespace

nlohmann::json parse_json_text(std::string_view text, const std::string& origin) {
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    const auto [line, column] = line_column(text, nul);
    fail("{}: invalid JSON: a NUL byte at line {}, column {}", origin, line, column);
  }
  std::vector<std::set<std::string>> keys;  // one set per open object
  int depth = 0;
  using E = nlohmann::json::parse_event_t;
  auto check = [&](int, E event, nlohmann::json& parsed) {
    switch (event) {
      case E::object_start:
      case E::array_start:
        if (++depth > kMaxJsonDepth)
          fail("{}: invalid JSON: nested deeper than {} levels", origin, kMaxJsonDepth);
        if (event == E::object_start) keys.emplace_back();
        break;
      case E::object_end:
        keys.pop_back();
        --depth;
        break;
      case E::array_end:
        --depth;
        break;
      case E::key:
        if (!keys.empty() && !keys.back().insert(parsed.get<std::string>()).second)
          fail("{}: invalid JSON: duplicate key \"{}\"", origin, parsed.get<std::string>());
        break;
      case E::value:
        break;
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), check);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid JSON: {}", origin, strip_exception_id(e.what()));
  }
}

std::string json_excerpt(const nlohmann::json& v) {
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

}  // namespace lengen
