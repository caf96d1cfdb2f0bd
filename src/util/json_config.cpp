#include "util/json_config.h"

#include "util/error.h"

namespace lengen {

void apply_override(nlohmann::json& config, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    fail("--set '{}': expected key.path=value", assignment);
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error&) {
    value = text;
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
