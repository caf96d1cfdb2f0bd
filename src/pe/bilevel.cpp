#include "pe/bilevel.h"

#include <algorithm>

#include "arch/model_config.h"
#include "pe/plan_util.h"
#include "util/error.h"

namespace lengen {

bool is_bilevel(const ModelConfig& c) {
  const std::string t = c.pe_type();
  return t == "bipe_rope" || t == "bipe_alibi";
}

namespace {

// The keys of both encodings, and bipe_rope's RoPE base.
PeOptions bilevel_options(const ModelConfig& c, const std::string& where) {
  std::vector<std::string> keys = {"delimiters", "intra_size", "intra_clamp", "init_std"};
  if (c.pe_type() == "bipe_rope") keys.push_back("base");
  return PeOptions(c.pe, where, keys);
}

}  // namespace

BilevelSettings bilevel_settings(const ModelConfig& c, const std::string& where) {
  const PeOptions o = bilevel_options(c, where);
  BilevelSettings s;
  s.intra_size = o.get_int("intra_size", 1024);
  if (s.intra_size < 2) o.error("intra_size", fmt::format("must be >= 2, got {}", s.intra_size));
  s.intra_clamp = o.get_int("intra_clamp", s.intra_size - 1);
  if (s.intra_clamp < 1 || s.intra_clamp > s.intra_size - 1)
    o.error("intra_clamp", fmt::format("must be in 1..intra_size - 1 = {}, got {}",
                                       s.intra_size - 1, s.intra_clamp));
  if (!c.pe.contains("delimiters") || !c.pe["delimiters"].is_array() || c.pe["delimiters"].empty())
    o.error("delimiters",
            "must be a non-empty list of token ids (the tokens that end a segment, e.g. the "
            "newline and full-stop pieces; `lengen lm` derives them from the tokenizer; in a "
            "task run or compare name them with the encoding, e.g. --set "
            "model.pe='{\"type\":\"" + c.pe.value("type", std::string("bipe_rope")) + "\",\"delimiters\":[3]}')");
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
    : delimiter_(size_t(vocab_size), 0),
      intra_clamp_(s.intra_clamp >= 0 ? s.intra_clamp : s.intra_size - 1) {
  for (int32_t d : s.delimiters) {
    if (d < 0 || d >= vocab_size)
      fail("bilevel delimiter id {} is not in the vocabulary of {}", d, vocab_size);
    delimiter_[d] = 1;
  }
}

void Segmenter::next(State& state, int32_t token, int32_t& seg, int32_t& intra) const {
  seg = state.seg;
  intra = std::min(state.intra, intra_clamp_);
  if (is_delimiter(token)) {
    ++state.seg;
    state.intra = 0;
  } else if (state.intra <= intra_clamp_) {
    ++state.intra;  // saturates: any count >= intra_clamp maps to the clamp row anyway
  }
}

void Segmenter::segment(const int32_t* tokens, int n, int32_t* seg, int32_t* intra) const {
  State s;
  for (int t = 0; t < n; ++t) next(s, tokens[t], seg[t], intra[t]);
}

BilevelEncoding::BilevelEncoding(const ModelConfig& c, const BilevelSettings& s, float init_std)
    : segmenter_(s, c.vocab_size), D_(c.d_model), A_(s.intra_size), init_std_(init_std) {}

void BilevelEncoding::declare_parameters(ParameterLayout& layout) {
  const int i = layout.add("model.pe.bipe.intra.weight", {A_, D_}, Init::Normal, init_std_);
  offset_ = int64_t(layout[i].offset);
}

void BilevelEncoding::init_parameters(float* host_params) const {
  std::fill_n(host_params + offset_ + size_t(A_ - 1) * D_, D_, 0.0f);
}

void BilevelEncoding::derive_streams(const int32_t* tokens, int n, StreamState& state,
                                     const DerivedStreams& out) const {
  Segmenter::State st{state.value[0], state.value[1]};
  int32_t* seg = out[Stream::Segment];
  int32_t* intra = out[Stream::IntraSegment];
  for (int t = 0; t < n; ++t) segmenter_.next(st, tokens[t], seg[t], intra[t]);
  state.value[0] = st.seg, state.value[1] = st.intra;
}

void BilevelEncoding::check_streams(const TokenStreams& s, int n) const {
  const int32_t *seg = s[Stream::Segment], *intra = s[Stream::IntraSegment];
  for (int t = 0; t < n; ++t) {
    if (intra && (intra[t] < 0 || intra[t] >= A_))
      fail("{}: intra-segment index {} (token {}) is outside the table of {} rows "
           "(pe.intra_size); the segmentation clamps it to {}",
           name(), intra[t], t, A_, A_ - 1);
    if (seg && seg[t] < 0) fail("{}: negative segment index {} (token {})", name(), seg[t], t);
  }
}

void BilevelEncoding::plan(const PositionView& v, const ParamAccess&, EncodingPlan& out) const {
  plan_input_rows(v, Stream::IntraSegment, out.input);
  out.input.table_param = offset_;
  out.input.rows = A_;
  out.input.frozen_row = A_ - 1;
}

}  // namespace lengen
