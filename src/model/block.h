// One pre-norm transformer block as a flat list of backend op calls, shared by training, prefill
// and decoding (a prefill is an extend of the whole prompt; decoding extends by one token):
//   mid = x + drop(W_o attention(rot(W_q norm1(x)), rot(W_k norm1(x)), W_v norm1(x)))
//   out = mid + drop(W_down drop(act(W_up norm2(mid) [, W_gate norm2(mid)])))
#pragma once
#include <cstdint>

#include "model/transformer.h"
#include "model/workspace.h"

namespace lengen {

// Dropout sites: each gets its own mask stream per layer (layer -1: the embedding output,
// layer L: the final norm's output).
// RelativeEmbeddings: transformer_xl's distance embeddings, one mask shared by all layers (as
// the reference computes them once per forward pass).
enum class DropoutSite : uint64_t {
  Embed = 0, AttnProbs, AttnOut, FfnHidden, FfnOut, Final, RelativeEmbeddings
};
uint64_t dropout_site_key(uint64_t key, int layer, DropoutSite site);

// A call of the blocks: B rows of Q new tokens, the encoding's plan, dropout (training).
struct BlockCall {
  int B = 0, Q = 0;
  const DevicePlan* plan = nullptr;
  float dropout = 0.0f;
  uint64_t dropout_key = 0;
  float* capture = nullptr;  // [B, H, Q, Q] attention probabilities of this layer, or null
};

// Where attention finds its keys: this call's own tokens, or a KV cache layer [B, capacity,
// HD] that the block first appends its new keys and values to (at plan->past).
struct BlockKeys {
  float* cache_k = nullptr;
  float* cache_v = nullptr;
  int capacity = 0;
};

// a.resid_in [N, D] -> x_out [N, D] (may be a.resid_in); branch [N, D] scratch.
void block_forward(Transformer& m, int layer, const BlockActs& a, float* x_out, float* branch,
                   const BlockCall& call, const BlockKeys& keys = {});
// d.d_resid: d(block output) in, d(block input) out. Adds the weight gradients (training keys).
void block_backward(Transformer& m, int layer, const BlockActs& a, const BlockCall& call,
                    const BackwardScratch& d);

// x [N, D] = embedding of ws.tokens + the encoding's input table (plan), before dropout.
void embed_forward(const Transformer& m, const Workspace& ws, float* x, int N);
// ws.logits [M, V] of the rows ws.rows of ws.lnf: E (h * D^-0.5) when tied and scaled (t5),
// else W h.
void head_forward(const Transformer& m, const Workspace& ws, int M);
float head_scale(const ModelConfig& c);
// The factor of q.k in the scores (1 for the t5 family, 1/sqrt(d_head) otherwise).
float attention_scale(const ModelConfig& c);

// out = norm(inp) with the weights at w (and bias at b for LayerNorm); its backward adds into
// dinp and the weight gradients.
void norm_forward(const Transformer& m, float* out, float* mean, float* rstd, const float* inp,
                  size_t w, size_t b, int N);
void norm_backward(Transformer& m, float* dinp, const float* dout, const float* inp,
                   const float* mean, const float* rstd, size_t w, size_t b, int N);

}  // namespace lengen
