#include "eval/positioned_decode.h"

#include <algorithm>

namespace lengen {

std::vector<std::vector<int32_t>> greedy_decode_positioned(
    Transformer& model, const PositionScheme& scheme,
    const std::vector<std::vector<int32_t>>& prompts,
    const std::vector<const std::vector<int32_t>*>& ids, int max_new_tokens, int eos_id,
    int pad_id) {
  const int B = int(prompts.size()), V = model.config().vocab_size;
  std::vector<std::vector<int32_t>> out(B);
  if (B == 0 || max_new_tokens <= 0) return out;
  Batch batch = make_batch(prompts, pad_id);
  assign_positions(scheme, ids, nullptr, batch);
  int longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, int(p.size()));
  KVCache cache(model, B, longest + max_new_tokens);
  std::vector<float> logits;
  model.prefill(batch, cache, logits);
  std::vector<char> done(B, 0);
  std::vector<int32_t> next(B), pos(B), seg(B, 0), intra(B);
  for (int step = 0; step < max_new_tokens; ++step) {
    int active = 0;
    for (int b = 0; b < B; ++b) {
      const float* row = logits.data() + size_t(b) * V;
      next[b] = int32_t(std::max_element(row, row + V) - row);
      if (!done[b]) {
        out[b].push_back(next[b]);
        if (next[b] == eos_id) done[b] = 1;
      }
      active += !done[b];
    }
    if (active == 0 || step + 1 == max_new_tokens) break;
    for (int b = 0; b < B; ++b) {
      const TokenPosition p = token_position(scheme, *ids[b], cache.length(b));
      pos[b] = p.pos, intra[b] = p.intra;
    }
    model.decode_step(next, Positions{pos.data(), seg.data(), intra.data()}, cache, logits);
  }
  return out;
}

}  // namespace lengen
