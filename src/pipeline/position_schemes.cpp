#include "pipeline/position_schemes.h"

#include <algorithm>

#include "util/error.h"

namespace lengen {

PositionScheme resolve_position_scheme(const nlohmann::json& run_config, const std::string& where) {
  const nlohmann::json model = run_config.value("model", nlohmann::json::object());
  const nlohmann::json pe = model.value("pe", nlohmann::json("nope"));
  const std::string pe_type = pe.is_string() ? pe.get<std::string>()
                                             : pe.value("type", std::string("nope"));
  const nlohmann::json data = run_config.value("data", nlohmann::json::object());
  const std::string positions = data.value("positions", std::string("auto"));
  PositionScheme s;
  s.kind = positions == "auto" ? (pe_type == "abacus" ? "abacus" : "index") : positions;
  s.random_positions = data.value("random_positions", 0);
  s.position_offset = data.value("position_offset", 0);
  s.random_eval = data.value("random_eval_positions", false);
  s.eval_seed = data.value("seed", uint64_t(0));
  s.random_eval = s.random_eval && s.random_positions > 0;  // so that a sweep can set it once
  if (s.kind != "index" && s.kind != "coupled" && s.kind != "abacus")
    fail("{}: key 'data.positions' has value \"{}\"; allowed values: auto, index, coupled, abacus",
         where, s.kind);
  if ((s.kind == "abacus") != (pe_type == "abacus"))
    fail("{}: data.positions \"abacus\" and the abacus encoding go together (got positions \"{}\" "
         "with pe \"{}\")",
         where, s.kind, pe_type);
  if (s.random_positions < 0 || s.position_offset < 0)
    fail("{}: data.random_positions and data.position_offset must be >= 0", where);
  if (s.random_positions > 0 && s.kind != "index")
    fail("{}: data.random_positions randomizes index positions; with positions \"{}\" use "
         "data.position_offset",
         where, s.kind);
  if (s.position_offset > 0 && s.kind == "index")
    fail("{}: data.position_offset shifts task position ids; it needs positions coupled or abacus",
         where);
  return s;
}

TokenPosition token_position(const PositionScheme& s, const std::vector<int32_t>& ids, int t) {
  const int32_t id = t < int(ids.size()) ? ids[t] : 0;
  if (s.kind == "coupled") return {id, 0};
  if (s.kind == "abacus") return {t, id};
  return {t, 0};
}

DecodePositions decode_positions(const PositionScheme& s,
                                 const std::vector<const std::vector<int32_t>*>& ids) {
  return [s, ids](int b, int t, int32_t& pos, int32_t& place) {
    const TokenPosition p = token_position(s, *ids[b], t);
    pos = p.pos, place = p.place;
  };
}

std::vector<int32_t> ordered_random_positions(int L, int len, Rng& rng) {
  if (len > L)
    fail("data.random_positions = {} is shorter than a row of {} tokens", L, len);
  std::vector<int32_t> subset;  // Floyd: len distinct values of [0, L), then sorted
  for (int j = L - len; j < L; ++j) {
    const int v = int(rng.uniform(0, j));
    subset.push_back(std::find(subset.begin(), subset.end(), v) == subset.end() ? v : j);
  }
  std::sort(subset.begin(), subset.end());
  return subset;
}

std::vector<int32_t> eval_random_positions(const PositionScheme& s, size_t index, int len) {
  Rng rng(s.eval_seed * 0x9E3779B97F4A7C15ull + index + 1);
  return ordered_random_positions(s.random_positions, len, rng);
}

void assign_positions(const PositionScheme& s, const std::vector<const std::vector<int32_t>*>& row_ids,
                      Rng* rng, Batch& batch) {
  const int T = batch.T;
  if (s.kind == "abacus") batch.place.assign(batch.pos.size(), 0);
  for (int b = 0; b < batch.B; ++b) {
    static const std::vector<int32_t> none;
    const std::vector<int32_t>& ids = row_ids[b] ? *row_ids[b] : none;
    if (s.uses_task_ids() && int(ids.size()) < batch.lengths[b])
      fail("positions \"{}\" need the task's position ids for every token (row {} has {} of {}); "
           "the data have none: use a task that supplies them (add, mul)",
           s.kind, b, ids.size(), batch.lengths[b]);
    const int offset = rng && s.position_offset > 0 ? int(rng->uniform(0, s.position_offset)) : 0;
    if (rng && s.random_positions > 0) {
      const int len = batch.lengths[b];
      const std::vector<int32_t> subset = ordered_random_positions(s.random_positions, len, *rng);
      for (int t = 0; t < len; ++t) batch.pos[size_t(b) * T + t] = subset[t];
      continue;
    }
    for (int t = 0; t < T; ++t) {
      TokenPosition p = token_position(s, ids, t);
      if (s.kind == "coupled" && p.pos > 0) p.pos += offset;
      if (s.kind == "abacus" && p.place > 0) p.place += offset;
      batch.pos[size_t(b) * T + t] = p.pos;
      if (s.kind == "abacus") batch.place[size_t(b) * T + t] = p.place;
    }
  }
}

}  // namespace lengen
