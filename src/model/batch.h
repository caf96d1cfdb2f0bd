// A right-padded batch of token rows with their targets and the position streams the caller
// supplies (pe/streams.h); the encoding derives its other streams itself.
#pragma once
#include <cstdint>
#include <vector>

#include "pe/streams.h"

namespace lengen {

struct Batch {
  int B = 0, T = 0;
  std::vector<int32_t> tokens;   // [B*T]
  std::vector<int32_t> targets;  // [B*T] next-token targets (ignored where weight is 0)
  std::vector<float> weights;    // [B*T] loss weight of each target (0 = masked)
  std::vector<int32_t> lengths;  // [B] valid tokens of each row
  std::vector<int32_t> pos;      // [B*T] position ids (0..T-1 per row unless supplied)
  std::vector<int32_t> place;    // [B*T] digit places (abacus data), or empty
  // The supplied streams (Position, and DigitPlace when given).
  TokenStreams supplied() const {
    TokenStreams s;
    s.of[int(Stream::Position)] = pos.data();
    s.of[int(Stream::DigitPlace)] = place.empty() ? nullptr : place.data();
    return s;
  }
};

// Builds a batch from token rows: tokens[t] predicts tokens[t+1]; the last token of a row
// has no target. `loss_from[b]` = first target index that counts (prompt masking; 0 = all);
// weights are 1/(number of counted targets), so the loss is a mean over them.
// Positions are 0..T-1 per row.
Batch make_batch(const std::vector<std::vector<int32_t>>& rows, int pad_id,
                 const std::vector<int>& loss_from = {});

}  // namespace lengen
