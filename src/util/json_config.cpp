#include "util/json_config.h"

#include "util/error.h"
#include "util/json_parse.h"

namespace lengen {

void apply_override(nlohmann::json& config, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    fail("--set '{}': expected key.path=value", assignment);
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  nlohmann::json value;
  const size_t first = text.find_first_not_of(" \t");
  if (first != std::string::npos && (text[first] == '{' || text[first] == '[' || text[first] == '"')) {
    // Meant as JSON: parsed strictly, and an invalid one is an error rather than a string.
    value = parse_json_text(text, fmt::format("--set '{}'", assignment));
  } else {
    try {
      value = nlohmann::json::parse(text);  // a number, true/false, null
    } catch (const nlohmann::json::parse_error&) {
      value = text;  // any other text is a string
    } catch (const nlohmann::json::out_of_range&) {
      fail("--set '{}': the number is out of range", assignment);
    }
  }
  nlohmann::json* node = &config;
  size_t start = 0;
  for (;;) {
    const size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty()) fail("--set '{}': empty key in path", assignment);
    if (!node->is_object()) fail("--set '{}': '{}' is not an object", assignment, path.substr(0, start));
    if (dot == std::string::npos) {
      (*node)[key] = value;
      return;
    }
    if (!node->contains(key)) (*node)[key] = nlohmann::json::object();
    node = &(*node)[key];
    start = dot + 1;
  }
}

void apply_overrides(nlohmann::json& config, const std::vector<std::string>& assignments) {
  for (const auto& a : assignments) apply_override(config, a);
}

}  // namespace lengen
