// Language-model batches from a token stream: row b of step s is the window starting at a
// position hashed from (seed, s, b), so the batch of any step can be recomputed (resume).
#pragma once
#include <cstdint>
#include <vector>

#include "model/batch.h"

namespace lengen {

class TokenStream {
 public:
  TokenStream(std::vector<int32_t> tokens, int seq_len);
  size_t size() const { return tokens_.size(); }
  Batch training_batch(uint64_t seed, int64_t step, int batch_size) const;
  // Consecutive non-overlapping windows starting at window `first` (for evaluation).
  Batch window_batch(int64_t first, int batch_size) const;
  int64_t num_windows() const { return int64_t(tokens_.size() - 1) / seq_len_; }

 private:
  Batch windows(const std::vector<size_t>& starts) const;
  std::vector<int32_t> tokens_;
  int seq_len_;
};

}  // namespace lengen
