// Distance between a model's attention and a reference model's (NoPE in the paper), SPEC 5(a):
// for each layer, and each pair (head a of the model, head b of the reference), the divergence
// of the two attention rows averaged over the query rows; the minimum over head pairs; then
// the mean over layers. Computed per example and averaged over the examples of each length.
#pragma once
#include <vector>

#include "analysis/attention_capture.h"
#include "analysis/divergence.h"

namespace lengen::analysis {

enum class QueryRows { All, Answer };  // every query row, or the answer region's only
QueryRows parse_query_rows(const std::string& name);  // "all" | "answer"
// The query rows [begin, end) of an example.
TokenRange query_range(const CapturedExample& x, QueryRows rows);

// Both captures must come from models trained on the same task (task, data split, data seed)
// with the same training seed, over the same split and the same examples; else lengen::Error
// naming both runs and what differs. The layer counts must agree (head counts may differ).
void check_comparable(const AttentionCapture& model, const AttentionCapture& reference);

// Per layer: min over head pairs of the row-averaged divergence (KL and JS minimised apart).
std::vector<Divergence> layer_distances(const AttentionCapture& model, const CapturedExample& x,
                                        const AttentionCapture& reference,
                                        const CapturedExample& y, QueryRows rows);

struct LengthDistance {
  int length = 0;
  int examples = 0;
  std::vector<Divergence> per_layer;  // averaged over the examples
  Divergence mean;                    // per_layer averaged over layers
};

// One entry per length, ascending. Checks comparability first.
std::vector<LengthDistance> attention_distance(const AttentionCapture& model,
                                               const AttentionCapture& reference, QueryRows rows);

}  // namespace lengen::analysis
