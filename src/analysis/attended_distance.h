// "Attended distance" (SPEC 5(b)): for a query i of the answer region, the key it attends to
// most, as the relative distance (i - argmax_j p_ij) / (i + 1) in [0, 1): 0 = itself, near 1 =
// the first tokens. Ties go to the earliest key. Pooled over every layer and head.
#pragma once
#include <vector>

#include "analysis/attention_capture.h"

namespace lengen::analysis {

// One value per (layer, head, answer-region query) of the example.
std::vector<double> attended_distances(const AttentionCapture& capture, const CapturedExample& x);

// Fractions of `values` in `bins` equal bins over [0, 1] (the last bin includes 1).
std::vector<double> histogram_fractions(const std::vector<double>& values, int bins);

}  // namespace lengen::analysis
