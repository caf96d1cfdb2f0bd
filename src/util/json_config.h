// Reading JSON config files and applying "--set key.path=value" overrides.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lengen {

// "a.b.c=value": value parsed as JSON when it is valid JSON (numbers, true, [..], {..},
// "quoted"), else taken as a string. Intermediate objects are created.
void apply_override(nlohmann::json& config, const std::string& assignment);
void apply_overrides(nlohmann::json& config, const std::vector<std::string>& assignments);

}  // namespace lengen
