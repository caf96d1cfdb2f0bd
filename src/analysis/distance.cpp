#include "analysis/distance.h"

#include <algorithm>
#include <limits>
#include <map>

#include "util/error.h"

namespace lengen::analysis {

QueryRows parse_query_rows(const std::string& name) {
  if (name == "all") return QueryRows::All;
  if (name == "answer") return QueryRows::Answer;
  fail("--queries '{}': allowed: all, answer", name);
}

TokenRange query_range(const CapturedExample& x, QueryRows rows) {
  return rows == QueryRows::All ? TokenRange{0, x.T()} : x.regions.answer;
}

void check_comparable(const AttentionCapture& m, const AttentionCapture& r) {
  const std::string who = fmt::format("{} vs reference {}", m.info.value("run", "?"),
                                      r.info.value("run", "?"));
  for (const char* key : {"task", "data_split", "data_seed", "train_seed", "split"})
    if (m.info.value(key, nlohmann::json()) != r.info.value(key, nlohmann::json()))
      fail("{}: the models differ in {} ({} vs {}); the distance needs models trained on the same "
           "task with the same seed",
           who, key, m.info.value(key, nlohmann::json()).dump(), r.info.value(key, nlohmann::json()).dump());
  if (m.n_layers != r.n_layers)
    fail("{}: {} layers vs {}; layers are compared one to one", who, m.n_layers, r.n_layers);
  if (m.examples.size() != r.examples.size())
    fail("{}: {} captured examples vs {}; capture both with the same --per-length", who,
         m.examples.size(), r.examples.size());
  for (size_t k = 0; k < m.examples.size(); ++k)
    if (m.examples[k].tokens != r.examples[k].tokens)
      fail("{}: example {} (split index {}) has other tokens in the two captures", who, k,
           m.examples[k].index);
}

std::vector<Divergence> layer_distances(const AttentionCapture& m, const CapturedExample& x,
                                        const AttentionCapture& r, const CapturedExample& y,
                                        QueryRows rows) {
  const TokenRange q = query_range(x, rows);
  std::vector<Divergence> out(size_t(m.n_layers));
  if (q.size() <= 0) return out;
  for (int l = 0; l < m.n_layers; ++l) {
    Divergence best{std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
    for (int a = 0; a < m.n_heads; ++a)
      for (int b = 0; b < r.n_heads; ++b) {
        Divergence sum;
        for (int i = q.begin; i < q.end; ++i) {
          const auto p = x.row(l, a, m.n_heads, i), s = y.row(l, b, r.n_heads, i);
          sum.sym_kl += symmetric_kl(p, s);
          sum.js += jensen_shannon(p, s);
        }
        best.sym_kl = std::min(best.sym_kl, sum.sym_kl / q.size());
        best.js = std::min(best.js, sum.js / q.size());
      }
    out[size_t(l)] = best;
  }
  return out;
}

std::vector<LengthDistance> attention_distance(const AttentionCapture& m,
                                               const AttentionCapture& r, QueryRows rows) {
  check_comparable(m, r);
  std::map<int, LengthDistance> by_length;
  for (size_t k = 0; k < m.examples.size(); ++k) {
    const auto layers = layer_distances(m, m.examples[k], r, r.examples[k], rows);
    LengthDistance& d = by_length[m.examples[k].length];
    d.length = m.examples[k].length;
    d.per_layer.resize(layers.size());
    for (size_t l = 0; l < layers.size(); ++l) {
      d.per_layer[l].sym_kl += layers[l].sym_kl;
      d.per_layer[l].js += layers[l].js;
    }
    ++d.examples;
  }
  std::vector<LengthDistance> out;
  for (auto& [len, d] : by_length) {
    for (Divergence& v : d.per_layer) {
      v.sym_kl /= d.examples;
      v.js /= d.examples;
      d.mean.sym_kl += v.sym_kl / double(d.per_layer.size());
      d.mean.js += v.js / double(d.per_layer.size());
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace lengen::analysis
