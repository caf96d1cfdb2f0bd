// Layered configuration: a run's config is a list of JSON / Jsonnet files, each overriding the
// ones before it, then "--set key.path=value" overrides (util/json_config.h) on top.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lengen {

// Loads config files in order; later files override earlier ones by deep_merge. ".jsonnet" and
// ".libsonnet" are evaluated with libjsonnet (imports resolve against the importing file's
// directory, then `search_paths`); ".json" is parsed as JSON. Every file must yield an object.
// Errors name the file (Jsonnet: libjsonnet's message with line:column; JSON: line and column).
nlohmann::json load_config_files(const std::vector<std::string>& paths,
                                 const std::vector<std::string>& search_paths = {});

// "a.json, b.jsonnet" -> {"a.json", "b.jsonnet"}; whitespace around names and empty entries
// are dropped.
std::vector<std::string> split_config_list(const std::string& comma_separated);

// Objects are merged key by key (recursively); anything else in `overlay` (arrays, scalars,
// null) replaces the value in `base`.
void deep_merge(nlohmann::json& base, const nlohmann::json& overlay);

// Evaluates Jsonnet source text; `name` appears in error messages (and anchors relative imports).
nlohmann::json evaluate_jsonnet_snippet(const std::string& text,
                                        const std::string& name = "<snippet>");

}  // namespace lengen
