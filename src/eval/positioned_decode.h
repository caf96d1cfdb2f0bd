// Greedy decoding where every token's position comes from a position scheme and the task's
// per-token ids (position coupling, Abacus): the prompt tokens and each generated token get
// the ids the scheme gives them. The task formats that supply ids fix the answer's length by
// the operands, so generated token k gets the id of answer token k without the gold digits
// being looked at.
#pragma once
#include <cstdint>
#include <vector>

#include "model/transformer.h"
#include "pipeline/position_schemes.h"

namespace lengen {

// prompts[b] are the first tokens of a sequence whose task ids are ids[b] (prompt + answer).
std::vector<std::vector<int32_t>> greedy_decode_positioned(
    Transformer& model, const PositionScheme& scheme,
    const std::vector<std::vector<int32_t>>& prompts,
    const std::vector<const std::vector<int32_t>*>& ids, int max_new_tokens, int eos_id,
    int pad_id);

}  // namespace lengen
