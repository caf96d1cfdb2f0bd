// Bilevel positions (BiPE, SPEC section 6): a token sequence is cut into segments, each ending
// with a delimiter token (newline, full stop...). Every token gets a segment index (its
// position for the inter-segment encoding: RoPE in bipe_rope, ALiBi in bipe_alibi) and an
// intra-segment index into a learned table added to the embeddings. This file holds what both
// encodings share: the options, the segmentation and the intra-segment table. The encodings
// derive both streams from the tokens themselves (incrementally when decoding).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "pe/positional_encoding.h"

namespace lengen {

// Options pe.delimiters (token ids, required, each inside the vocabulary), pe.intra_size
// (rows A of the intra-segment table, default 1024) and pe.intra_clamp (the largest intra id,
// default A - 1; BiPE's released code clamps at 1023 whatever its table size, so checkpoints
// imported from it carry min(1023, A - 1)).
struct BilevelSettings {
  std::vector<int32_t> delimiters;
  int intra_size = 1024;
  int intra_clamp = -1;  // -1: intra_size - 1
};
bool is_bilevel(const ModelConfig& c);
// Validates the encoding's keys (bipe_rope also has `base`, 10000); errors name `where`.
BilevelSettings bilevel_settings(const ModelConfig& c, const std::string& where);

// The segmentation of SPEC 6: segment_id = number of delimiters before the token, intra_id =
// tokens since the last delimiter, clamped to intra_clamp (A - 1 unless set). The state carries across calls, so a
// sequence decoded token by token gets the ids it would get in one piece.
class Segmenter {
 public:
  Segmenter(const BilevelSettings& s, int vocab_size);
  struct State {
    int32_t seg = 0, intra = 0;  // of the next token (intra unclamped)
  };
  // ids of the next token, then advances the state past `token`.
  void next(State& state, int32_t token, int32_t& seg, int32_t& intra) const;
  void segment(const int32_t* tokens, int n, int32_t* seg, int32_t* intra) const;
  bool is_delimiter(int32_t token) const {
    return token >= 0 && size_t(token) < delimiter_.size() && delimiter_[token];
  }

 private:
  std::vector<char> delimiter_;  // [vocab]
  int intra_clamp_;
};

// The part shared by both encodings: the segment streams and the input table [A, D]
// ("model.pe.bipe.intra.weight") indexed by the intra id. Row A-1 (where long segments are
// clamped) starts at zero and is frozen, as in the reference (padding_idx of its nn.Embedding).
class BilevelEncoding : public PositionalEncoding {
 public:
  BilevelEncoding(const ModelConfig& c, const BilevelSettings& s, float init_std);
  void declare_parameters(ParameterLayout& layout) override;
  void init_parameters(float* host_params) const override;
  std::vector<Stream> streams() const override { return {Stream::Segment, Stream::IntraSegment}; }
  bool derives(Stream s) const override {
    return s == Stream::Segment || s == Stream::IntraSegment;
  }
  void derive_streams(const int32_t* tokens, int n, StreamState& state,
                      const DerivedStreams& out) const override;
  void check_streams(const TokenStreams& s, int n) const override;
  void plan(const PositionView& v, const ParamAccess& params, EncodingPlan& out) const override;

 private:
  Segmenter segmenter_;
  int D_, A_;
  float init_std_;
  int64_t offset_ = 0;
};

// Initial standard deviation of the intra table: pe.init_std, default the model's init_std
// (N(0, 0.02) for llama as in the reference) or 1 for t5 init.
float bilevel_init_std(const ModelConfig& c, const std::string& where);

}  // namespace lengen
