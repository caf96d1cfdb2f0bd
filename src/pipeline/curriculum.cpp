#include "pipeline/curriculum.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"
#include "util/json_parse.h"
#include "util/rng.h"

namespace lengen {

CurriculumConfig CurriculumConfig::from_json(const nlohmann::json& j, const std::string& where) {
  CurriculumConfig c;
  if (!j.is_object()) fail("{}: must be an object such as {{\"kind\": \"uniform\"}}", where);
  static const std::map<std::string, std::vector<std::string>> keys = {
      {"uniform", {}},
      {"fixed", {"length"}},
      {"reverse_exponential", {"tau"}},
      {"regular_increase", {"start", "every", "increase", "sample_all"}}};
  if (!j.contains("kind")) fail("{}: key 'kind' missing (uniform, fixed, reverse_exponential, regular_increase)", where);
  c.kind = json_value_as<std::string>(j.at("kind"), where, "kind");
  const auto it = keys.find(c.kind);
  if (it == keys.end())
    fail("{}: key 'kind' has value \"{}\"; allowed values: uniform, fixed, reverse_exponential, "
         "regular_increase", where, c.kind);
  for (const auto& [key, value] : j.items())
    if (key != "kind" && std::find(it->second.begin(), it->second.end(), key) == it->second.end())
      fail("{}: unknown key '{}' for kind {}; allowed: {}", where, key, c.kind,
           it->second.empty() ? std::string("none") : fmt::format("{}", fmt::join(it->second, ", ")));
  auto get = [&](const char* key, auto& out) {
    if (j.contains(key)) out = json_value_as<std::decay_t<decltype(out)>>(j.at(key), where, key);
  };
  get("length", c.length), get("tau", c.tau), get("start", c.start), get("every", c.every);
  get("increase", c.increase), get("sample_all", c.sample_all);
  if (c.kind == "fixed" && c.length < 1) fail("{}: key 'length' must be a positive integer", where);
  if (!(c.tau > 0) || !std::isfinite(c.tau)) fail("{}: key 'tau' must be a positive number", where);
  if (c.start < 0) fail("{}: key 'start' must be >= 0", where);
  if (c.every < 1) fail("{}: key 'every' must be at least 1", where);
  if (c.increase < 0) fail("{}: key 'increase' must be >= 0", where);
  return c;
}

nlohmann::json CurriculumConfig::to_json() const {
  nlohmann::json j = {{"kind", kind}};
  if (kind == "fixed") j["length"] = length;
  if (kind == "reverse_exponential") j["tau"] = tau;
  if (kind == "regular_increase")
    j.update({{"start", start}, {"every", every}, {"increase", increase}, {"sample_all", sample_all}});
  return j;
}

int curriculum_draw(const CurriculumConfig& c, const std::vector<int>& available, int64_t step,
                    uint64_t seed) {
  Rng rng(hash_combine(seed ^ 0xC0221C0ull, uint64_t(step)));
  if (c.kind == "fixed") return c.length;
  if (c.kind == "uniform") return available[rng.below(available.size())];
  if (c.kind == "reverse_exponential") {  // weights tau^n, relative to the shortest for range
    std::vector<double> w;
    double total = 0;
    for (int n : available) total += w.emplace_back(std::pow(c.tau, double(n - available.front())));
    double u = rng.uniform() * total;
    for (size_t i = 0; i < w.size(); ++i)
      if ((u -= w[i]) < 0) return available[i];
    return available.back();
  }
  const int64_t stage = (step - 1) / c.every;  // the steps before this one, as upstream's step
  const int64_t k = c.sample_all ? int64_t(rng.below(uint64_t(stage) + 1)) : stage;
  return int(std::min<int64_t>(c.start + c.increase * k, 1 << 30));
}

CurriculumBatcher::CurriculumBatcher(const std::vector<EncodedExample>& examples, int batch_size,
                                     uint64_t seed, CurriculumConfig curriculum,
                                     PositionScheme positions, int32_t pad_id)
    : examples_(examples), B_(batch_size), seed_(seed), curriculum_(std::move(curriculum)),
      positions_(std::move(positions)), pad_id_(pad_id) {
  if (examples.empty()) fail("no training examples");
  if (B_ <= 0) fail("batch_size must be positive");
  for (uint32_t i = 0; i < examples.size(); ++i) by_length_[examples[i].length].push_back(i);
  for (const auto& [n, idx] : by_length_) lengths_.push_back(n);
}

int CurriculumBatcher::length_at(int64_t step) const {
  const int want = curriculum_draw(curriculum_, lengths_, step, seed_);
  const auto above = std::lower_bound(lengths_.begin(), lengths_.end(), want);
  if (above == lengths_.end()) return lengths_.back();
  if (*above == want || above == lengths_.begin()) return *above;
  const int below = *std::prev(above);
  return want - below <= *above - want ? below : *above;
}

Batch CurriculumBatcher::batch(int64_t step) {
  const std::vector<uint32_t>& pool = by_length_.at(length_at(step));
  Rng rng(hash_combine(seed_ ^ 0xBA7C5ull, uint64_t(step)));
  std::vector<uint32_t> indices(static_cast<size_t>(B_));
  for (uint32_t& i : indices) i = pool[rng.below(pool.size())];
  return positioned_training_batch(examples_, indices, positions_, seed_, step, pad_id_);
}

}  // namespace lengen
