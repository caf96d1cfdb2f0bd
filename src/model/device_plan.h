// The encoding's plan of one call on the device: built on the host by the encoding
// (pe/plan.h), copied into the workspace, and handed to the generic ops as their descriptors.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "pe/plan.h"

namespace lengen {

class Transformer;

struct DevicePlan {
  EncodingPlan host;  // as the encoding built it
  PositionView view;  // the positions it was built from (host memory of the caller)
  // input: x[t] += input_table[input_ids[t]]; its gradient into input_dtable (training)
  const float* input_table = nullptr;
  float* input_dtable = nullptr;
  const int32_t* input_ids = nullptr;
  // rotation of queries and keys
  bool rotates = false;
  RotationArgs rotate_q, rotate_k;
  // score bias
  bool biased = false;
  ScoreBias bias;
  float* computed_dvalues = nullptr;  // gradient of computed values (mapped by plan_backward)
  // relative keys (transformer_xl, pe/plan.h RelativeKeysPlan): the per-call scratch of every
  // layer's bias table, which the score bias reads (a row per query: O(N H rows), as in the
  // reference code)
  struct RelativeKeys {
    bool active = false;
    int rows = 0;
    float* embeddings = nullptr;                    // [rows, D] (dropout applied in training)
    float *keys = nullptr, *dkeys = nullptr;        // [rows, HD] W_r e
    float *queries = nullptr, *dqueries = nullptr;  // [N, HD] q + v
    float *table = nullptr, *dtable = nullptr;      // [N, H, rows] = bias.values, dvalues
  } relative;
  const int32_t* past = nullptr;      // [B] keys before the new tokens (null: none)
};

// Asks the encoding for the plan of `view` and copies it into `arena` (grown when needed).
// `training`: gradients of learned plan tensors are wanted.
void build_device_plan(Transformer& model, const PositionView& view, bool training,
                       Buffer& arena, DevicePlan& out);
// After the backward pass: the gradient of computed bias values to the encoding's tensors.
void device_plan_backward(Transformer& model, const DevicePlan& plan);

}  // namespace lengen
