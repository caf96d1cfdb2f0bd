#include "report/stats.h"

#include <algorithm>
#include <cmath>

#include "report/table.h"

namespace lengen::report {

Stats mean_std(const std::vector<double>& v) {
  Stats s;
  s.n = int(v.size());
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= double(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / double(v.size() - 1));
  }
  return s;
}

std::string mean_std_cell(const Stats& s) {
  if (s.n == 0) return "n/a";
  if (s.n == 1) return format_percent(s.mean);
  return format_percent(s.mean) + " ± " + format_percent(s.std);
}

std::map<int, double> accuracy_per_length(const nlohmann::json& split, const char* field) {
  std::map<int, double> out;
  if (!split.is_object() || !split.contains("per_length") || !split["per_length"].is_object()) return out;
  for (auto it = split["per_length"].begin(); it != split["per_length"].end(); ++it) {
    // Keys are lengths; an entry that is not a length with a numeric accuracy is left out.
    const std::string& key = it.key();
    if (key.empty() || key.size() > 9 || !std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    if (it.value().is_object() && it.value().contains(field) && it.value()[field].is_number())
      out[std::stoi(key)] = it.value()[field].get<double>();
  }
  return out;
}

std::map<std::pair<int, int>, double> accuracy_per_operand_lengths(const nlohmann::json& split) {
  std::map<std::pair<int, int>, double> out;
  if (!split.is_object() || !split.contains("per_category") || !split["per_category"].is_object()) return out;
  auto count = [](const std::string& t) {
    const bool ok = !t.empty() && t.size() <= 6 && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
    return ok ? std::stoi(t) : -1;
  };
  for (auto it = split["per_category"].begin(); it != split["per_category"].end(); ++it) {
    const std::string& key = it.key();
    const size_t by = key.find("-by-");
    if (by == std::string::npos) continue;
    const int a = count(key.substr(0, by)), b = count(key.substr(by + 4));
    if (a < 1 || b < 1) continue;
    if (it.value().is_object() && it.value().contains("accuracy") && it.value()["accuracy"].is_number())
      out[{a, b}] = it.value()["accuracy"].get<double>();
  }
  return out;
}

}  // namespace lengen::report
