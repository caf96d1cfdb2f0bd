// How a task run gives positions to its tokens: `data.positions` with its training-time
// randomness (README "Newer encodings and formats"):
//   index    0, 1, 2, ... (default). With data.random_positions = L > 0, every training row
//            instead gets an ordered random subset of [0, L) (randomized positions, Ruoss et
//            al. 2023); evaluation keeps 0, 1, 2, ..., or with data.random_eval_positions draws
//            a subset for each example too (what upstream's code does), from the data seed and
//            the example's index. Works with every position-indexed encoding.
//   coupled  the task's per-token position ids are the positions (position coupling, Cho et
//            al. 2024): digits of equal significance share a position. The callers pass
//            EncodedExample::coupled_ids, where from <sep> on each token has the id of the
//            token it predicts (pipeline/task_data.h).
//   abacus   positions 0, 1, ...; the task's ids (digit significance) go to the digit-place
//            stream, read by the `abacus` encoding (McLeish et al. 2024). The default with pe
//            abacus.
// coupled and abacus: in training, nonzero ids are shifted by one random offset per row in
// [0, data.position_offset] (0 stays "not a digit"), so that the ids of long test numbers are
// trained too; evaluation uses the ids unshifted.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/batch.h"
#include "model/decode.h"
#include "util/rng.h"

namespace lengen {

struct PositionScheme {
  std::string kind = "index";  // index, coupled, abacus
  int random_positions = 0;    // index: L of the randomized positions (0 = off)
  bool random_eval = false;    // index: randomized positions at evaluation too
  uint64_t eval_seed = 0;      // their seed (data.seed)
  int position_offset = 0;     // coupled/abacus: largest random training offset
  bool uses_task_ids() const { return kind != "index"; }
  bool randomizes_training() const { return random_positions > 0 || position_offset > 0; }
};

// Resolves a run config's data.positions ("auto": abacus for the abacus encoding, else index)
// and its randomness, and checks them against model.pe; errors name `where` and the key.
PositionScheme resolve_position_scheme(const nlohmann::json& run_config, const std::string& where);

// Position id and digit place of token t of a row whose task ids are `ids` (token-aligned;
// empty or shorter: 0), at evaluation (no randomness).
struct TokenPosition {
  int32_t pos, place;
};
TokenPosition token_position(const PositionScheme& s, const std::vector<int32_t>& ids, int t);

// Decoding positions from the task ids of each row (ids[b]: prompt + answer): generated
// token k gets the id of answer token k. The formats that supply ids fix the answer's length
// by the operands, so this never looks at the gold answer's digits.
DecodePositions decode_positions(const PositionScheme& s,
                                 const std::vector<const std::vector<int32_t>*>& ids);

// An ordered random subset of [0, L) of `len` values (Floyd's sampling, sorted); throws when
// len > L, naming data.random_positions.
std::vector<int32_t> ordered_random_positions(int L, int len, Rng& rng);

// Evaluation's positions under data.random_eval_positions: example `index` (its place in the
// evaluated set) with `len` tokens (prompt and decoding budget); positions past `len` continue
// by one each.
std::vector<int32_t> eval_random_positions(const PositionScheme& s, size_t index, int len);

// Fills batch.pos (and batch.place for abacus) for every row: row_ids[b] are row b's task ids.
// `training_rng` non-null draws the training-time randomness (randomized positions, offsets).
void assign_positions(const PositionScheme& s, const std::vector<const std::vector<int32_t>*>& row_ids,
                      Rng* training_rng, Batch& batch);

}  // namespace lengen
