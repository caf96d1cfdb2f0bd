#include "train/lm_data.h"

#include "util/error.h"
#include "util/rng.h"

namespace lengen {

TokenStream::TokenStream(std::vector<int32_t> tokens, int seq_len)
    : tokens_(std::move(tokens)), seq_len_(seq_len) {
  if (tokens_.size() < size_t(seq_len_) + 1)
    fail("token stream of {} tokens is shorter than one training window of {} + 1", tokens_.size(),
         seq_len_);
}

Batch TokenStream::windows(const std::vector<size_t>& starts) const {
  std::vector<std::vector<int32_t>> rows;
  for (size_t s : starts)
    rows.emplace_back(tokens_.begin() + s, tokens_.begin() + s + seq_len_ + 1);
  // seq_len + 1 tokens per row: every one of the first seq_len predicts the next.
  Batch b = make_batch(rows, 0);
  return b;
}

Batch TokenStream::training_batch(uint64_t seed, int64_t step, int batch_size) const {
  const uint64_t span = tokens_.size() - seq_len_;  // valid starts: 0 .. size - seq_len - 1
  std::vector<size_t> starts;
  for (int b = 0; b < batch_size; ++b)
    starts.push_back(size_t(hash_combine(hash_combine(seed, uint64_t(step)), uint64_t(b)) % span));
  return windows(starts);
}

Batch TokenStream::window_batch(int64_t first, int batch_size) const {
  std::vector<size_t> starts;
  for (int b = 0; b < batch_size; ++b) {
    const int64_t w = (first + b) % std::max<int64_t>(1, num_windows());
    starts.push_back(size_t(w) * seq_len_);
  }
  return windows(starts);
}

}  // namespace lengen
