// Token files for language-model training and scoring: text, token ids separated by spaces,
// commas or newlines. A line is one sequence where that matters (scoring).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lengen {

// Every line's ids (blank lines skipped). Errors name the file, line and column.
std::vector<std::vector<int32_t>> read_token_lines(const std::string& path);
// Parses "3,17,5" or "3 17 5"; `where` names the source in errors.
std::vector<int32_t> parse_token_list(const std::string& text, const std::string& where);

}  // namespace lengen
