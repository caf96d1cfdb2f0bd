// The activation arena of a model (llm.c's ActivationTensors): one backend buffer carved into
// named views for B rows of Q tokens (N = B*Q) and M rows given to the output head. Training
// keeps every block's activations for the backward pass, plus its gradient scratch; inference
// keeps one block's, reused layer after layer. The buffer grows only when a shape needs more
// than any before, so a training loop allocates nothing per step once it has seen its longest
// batch. Nothing here is O(T^2): attention keeps a [B, H, Q] log-sum-exp, never probabilities.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "model/device_plan.h"
#include "model/transformer.h"

namespace lengen {

// One block's activations. Shapes for N tokens: D = d_model, HD = heads * d_head, F = d_ff.
struct BlockActs {
  float* resid_in = nullptr;                                        // [N, D] block input
  float *ln1 = nullptr, *ln1_mean = nullptr, *ln1_rstd = nullptr;   // [N, D], [N], [N]
  float *q = nullptr, *k = nullptr, *v = nullptr;                   // [N, HD] (q, k rotated)
  float* att = nullptr;                                             // [N, HD] attention output
  float* lse = nullptr;                                             // [B, H, Q] (training)
  float* resid_mid = nullptr;                                       // [N, D] after attention
  float *ln2 = nullptr, *ln2_mean = nullptr, *ln2_rstd = nullptr;
  float *ffn_a = nullptr, *ffn_b = nullptr, *ffn_h = nullptr;       // [N, F] pre-act, up, hidden
};

// Gradients the backward pass holds at once (training only).
struct BackwardScratch {
  float* d_head = nullptr;                                          // [M, D]
  float *d_lnf = nullptr, *d_resid = nullptr, *d_branch = nullptr, *d_norm = nullptr;  // [N, D]
  float *d_h = nullptr, *d_a = nullptr, *d_b = nullptr;             // [N, F]
  float *d_att = nullptr, *dq = nullptr, *dk = nullptr, *dv = nullptr;  // [N, HD]
};

class Workspace {
 public:
  enum class Mode { Inference, Training };
  explicit Workspace(const Transformer& model);

  // Lays the arena out for this shape; the views below are valid until the next prepare().
  void prepare(int B, int Q, int M, Mode mode);
  const BlockActs& block(int layer) const { return blocks_[mode_ == Mode::Training ? layer : 0]; }
  // The output of the last block (the final norm's input).
  float* final_resid() const { return mode_ == Mode::Training ? resid_out_ : blocks_[0].resid_in; }

  float *resid_out_ = nullptr;                                      // [N, D] (training)
  float *lnf = nullptr, *lnf_mean = nullptr, *lnf_rstd = nullptr;  // [N, D], [N], [N]
  float* branch = nullptr;                                          // [N, D] a sub-layer's output
  float *head_in = nullptr, *logits = nullptr;                      // [M, D], [M, V]
  int32_t *tokens = nullptr, *rows = nullptr, *targets = nullptr;   // [N], [M], [M]
  float* weights = nullptr;                                         // [M]
  BackwardScratch d;
  DevicePlan plan;  // the encoding's plan of the current call
  Buffer plan_arena;

  size_t bytes() const { return arena_.bytes() + plan_arena.bytes(); }

 private:
  Backend& backend_;
  ModelConfig config_;
  Mode mode_ = Mode::Inference;
  Buffer arena_;
  std::vector<BlockActs> blocks_;
};

}  // namespace lengen
