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

void assign_positions(const PositionScheme& s, const std::vector<const std::vector<int32_t>*>& row_ids,
                      Rng* rng, Batch& batch) {
  const int T = batch.T;
  if (s.kind == "abacus") batch.place.assign(batch.pos.size(), 0);
  std::vector<int32_t> subset;
  for (int b = 0; b < batch.B; ++b) {
    static const std::vector<int32_t> none;
    const std::vector<int32_t>& ids = row_ids[b] ? *row_ids[b] : none;
    if (s.uses_task_ids() && int(ids.size()) < batch.lengths[b])
      fail("positions \"{}\" need the task's position ids for every token (row {} has {} of {}); "
           "the data have none: use a task that supplies them (add, mul)",
           s.kind, b, ids.size(), batch.lengths[b]);
    const int offset = rng && s.position_offset > 0 ? int(rng->uniform(0, s.position_offset)) : 0;
    if (rng && s.random_positions > 0) {
      // An ordered random subset of [0, L): Floyd's sampling of `len` distinct values, sorted.
      const int len = batch.lengths[b];
      if (len > s.random_positions)
        fail("data.random_positions = {} is shorter than a training row of {} tokens",
             s.random_positions, len);
      subset.clear();
      for (int j = s.random_positions - len; j < s.random_positions; ++j) {
        const int v = int(rng->uniform(0, j));
        subset.push_back(std::find(subset.begin(), subset.end(), v) == subset.end() ? v : j);
      }
      std::sort(subset.begin(), subset.end());
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
