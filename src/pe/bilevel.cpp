#include "pe/bilevel.h"

#include <algorithm>

#include "model/config.h"
#include "util/error.h"

namespace lengen {

bool is_bilevel(const ModelConfig& c) {
  const std::string t = c.pe_type();
  return t == "bipe_rope" || t == "bipe_alibi";
}

namespace {

// The keys of both encodings, and bipe_rope's RoPE base.
PeOptions bilevel_options(const ModelConfig& c, const std::string& where) {
  std::vector<std::string> keys = {"delimiters", "intra_size", "init_std"};
  if (c.pe_type() == "bipe_rope") keys.push_back("base");
  return PeOptions(c.pe, where, keys);
}

}  // namespace

BilevelSettings bilevel_settings(const ModelConfig& c, const std::string& where) {
  const PeOptions o = bilevel_options(c, where);
  BilevelSettings s;
  s.intra_size = o.get_int("intra_size", 1024);
  if (s.intra_size < 2) o.error("intra_size", fmt::format("must be >= 2, got {}", s.intra_size));
  if (!c.pe.contains("delimiters") || !c.pe["delimiters"].is_array() || c.pe["delimiters"].empty())
    o.error("delimiters",
            "must be a non-empty list of token ids (the tokens that end a segment, e.g. the "
            "newline and full-stop pieces; `lengen lm` derives them from the tokenizer)");
  for (const auto& d : c.pe["delimiters"]) {
    if (!d.is_number_integer()) o.error("delimiters", "must hold integers, got " + d.dump());
    const int id = d.get<int>();
    if (id < 0 || id >= c.vocab_size)
      o.error("delimiters", fmt::format("holds token id {}, which is not in the vocabulary of {}",
                                        id, c.vocab_size));
    s.delimiters.push_back(id);
  }
  return s;
}

float bilevel_init_std(const ModelConfig& c, const std::string& where) {
  const PeOptions o = bilevel_options(c, where);
  const double std = o.get_double("init_std", c.init == InitKind::T5 ? 1.0 : c.init_std);
  if (!(std > 0)) o.error("init_std", "must be > 0");
  return float(std);
}

Segmenter::Segmenter(const BilevelSettings& s, int vocab_size)
    : delimiter_(size_t(vocab_size), 0), intra_size_(s.intra_size) {
  for (int32_t d : s.delimiters) {
    if (d < 0 || d >= vocab_size)
      fail("bilevel delimiter id {} is not in the vocabulary of {}", d, vocab_size);
    delimiter_[d] = 1;
  }
}

void Segmenter::next(State& state, int32_t token, int32_t& seg, int32_t& intra) const {
  seg = state.seg;
  intra = std::min(state.intra, intra_size_ - 1);
  if (is_delimiter(token)) {
    ++state.seg;
    state.intra = 0;
  } else if (state.intra < intra_size_) {
    ++state.intra;  // saturates: any count >= A - 1 maps to the last row anyway
  }
}

void Segmenter::segment(const int32_t* tokens, int n, int32_t* seg, int32_t* intra) const {
  State s;
  for (int t = 0; t < n; ++t) next(s, tokens[t], seg[t], intra[t]);
}

void add_bilevel_positions(const ModelConfig& c, Batch& batch) {
  if (!is_bilevel(c)) return;
  const Segmenter segmenter(bilevel_settings(c, "model"), c.vocab_size);
  const size_t N = size_t(batch.B) * batch.T;
  batch.seg.assign(N, 0);
  batch.intra.assign(N, 0);
  for (int b = 0; b < batch.B; ++b) {
    const size_t o = size_t(b) * batch.T;
    segmenter.segment(batch.tokens.data() + o, batch.T, batch.seg.data() + o,
                      batch.intra.data() + o);
  }
}

void BilevelEncoding::declare_parameters(ParameterLayout& layout) {
  const int i = layout.add("model.pe.bipe.intra.weight", {A_, D_}, Init::Normal, init_std_);
  offset_ = layout[i].offset;
}

void BilevelEncoding::init_parameters(float* params) const {
  std::fill_n(params + offset_ + size_t(A_ - 1) * D_, D_, 0.0f);
}

void BilevelEncoding::check_positions(const Positions& p, int n) const {
  for (int t = 0; t < n; ++t) {
    if (p.intra[t] < 0 || p.intra[t] >= A_)
      fail("{}: intra-segment index {} (token {}) is outside the table of {} rows "
           "(pe.intra_size); the segmentation clamps it to {}",
           name(), p.intra[t], t, A_, A_ - 1);
    if (p.seg[t] < 0) fail("{}: negative segment index {} (token {})", name(), p.seg[t], t);
  }
}

void BilevelEncoding::input_forward(const float* params, const Positions& p, int n,
                                    float* x) const {
  const float* table = params + offset_;
#pragma omp parallel for schedule(static)
  for (int t = 0; t < n; ++t) {
    const float* row = table + size_t(p.intra[t]) * D_;
    float* out = x + size_t(t) * D_;
    for (int d = 0; d < D_; ++d) out[d] += row[d];
  }
}

void BilevelEncoding::input_backward(const float*, const Positions& p, int n, const float* dx,
                                     float* grads) const {
  float* g = grads + offset_;
  // Parallel over columns: rows with equal indices never race. Row A-1 is frozen.
#pragma omp parallel for schedule(static)
  for (int d = 0; d < D_; ++d)
    for (int t = 0; t < n; ++t)
      if (p.intra[t] != A_ - 1) g[size_t(p.intra[t]) * D_ + d] += dx[size_t(t) * D_ + d];
}

}  // namespace lengen
