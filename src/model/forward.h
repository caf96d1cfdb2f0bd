// Running a model on a batch: the training step (forward + backward), the loss, teacher-forced
// scoring, logits of chosen tokens, and the capture of attention probabilities for analyses.
// Each call takes the workspace it runs in (model/workspace.h); its results are returned or
// copied to the host, so nothing of one call is read through the workspace after the next.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "model/batch.h"
#include "model/transformer.h"
#include "model/workspace.h"

namespace lengen {

// The streams of a batch as its encoding reads them: the supplied ones (Batch::supplied) and
// the encoding's own, derived row by row from the tokens (each row from a fresh state);
// checked by the encoding.
StreamSet batch_streams(const Transformer& model, const Batch& batch);

// Training step: returns sum_n weights[n] * nll(target n) and ADDS its gradient to the model's
// gradients. Dropout (config.dropout) is on, its masks keyed by `dropout_key`.
double forward_backward(Transformer& model, const Batch& batch, Workspace& ws,
                        uint64_t dropout_key);
// Same loss, no dropout, no gradients.
double loss(Transformer& model, const Batch& batch, Workspace& ws);
// log p(targets[n]) for every token n of the batch [B*T] (padding included).
std::vector<float> score(Transformer& model, const Batch& batch, Workspace& ws);
// Logits [rows.size(), V] of the chosen flat token indices, no dropout.
void logits(Transformer& model, const Batch& batch, const std::vector<int32_t>& rows,
            std::vector<float>& out, Workspace& ws);

// Attention probabilities of every layer, batch row and head (before dropout: none here), for
// the analysed batch only: [L, B, H, T, T].
struct AttentionProbs {
  int L = 0, B = 0, H = 0, T = 0;
  std::vector<float> values;
  // The query+1 weights of row `query` over keys 0..query.
  std::span<const float> row(int layer, int batch_row, int head, int query) const;
};
AttentionProbs capture_attention(Transformer& model, const Batch& batch, Workspace& ws);

}  // namespace lengen
