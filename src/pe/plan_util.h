// Pieces the encodings share to fill their plans (pe/plan.h).
#pragma once
#include <vector>

#include "pe/plan.h"

namespace lengen {

// Input rows: ids = the new tokens' values of stream s (the table is the caller's).
void plan_input_rows(const PositionView& v, Stream s, InputPlan& out);
// Rotation of the new tokens by their stream-s value times each pair's frequency.
void plan_rotation(const PositionView& v, Stream s, const std::vector<float>& inv_freq,
                   bool interleaved, RotationPlan& out);
// A computed bias table [H, cols] with one column per distance d in the calls' range of stream
// s: the caller fills out.values[h * cols + (d - out.dmin)]. Returns cols.
int plan_distance_columns(const PositionView& v, Stream s, int H, BiasPlan& out);

}  // namespace lengen
