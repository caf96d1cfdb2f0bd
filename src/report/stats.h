// The numbers shared by the study's reports (`compare`, `report`): mean and sample standard
// deviation over seeds, their table cell, and a run summary's accuracy per length.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lengen::report {

struct Stats {
  double mean = 0, std = 0;  // std: sample standard deviation (n - 1); 0 for a single value
  int n = 0;
};

Stats mean_std(const std::vector<double>& values);

// Fractions as percent cells: "n/a" (no value), "95.3" (one), "95.3 ± 1.2" (several).
std::string mean_std_cell(const Stats& s);

// {length: accuracy} of a results.json split section ("validation" or "test": its
// "per_length" object); empty when the section is missing. `field` names another per-length
// figure (token_accuracy).
std::map<int, double> accuracy_per_length(const nlohmann::json& split_section,
                                          const char* field = "accuracy");
// {(a, b): accuracy} from the section's "per_category" entries labelled "<a>-by-<b>" (the
// operand digit counts of two-operand arithmetic); empty when there are none.
std::map<std::pair<int, int>, double> accuracy_per_operand_lengths(const nlohmann::json& split_section);

}  // namespace lengen::report
