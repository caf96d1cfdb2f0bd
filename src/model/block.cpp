#include "model/block.h"

#include <cmath>

#include "util/rng.h"

namespace lengen {

uint64_t dropout_site_key(uint64_t key, int layer, DropoutSite site) {
  return hash_combine(key, uint64_t(layer + 1) * 16 + uint64_t(site));
}

void norm_forward(const Transformer& m, float* out, float* mean, float* rstd, const float* inp,
                  size_t w, size_t b, int N) {
  const ModelConfig& c = m.config();
  if (c.norm == NormKind::RmsNorm)
    m.backend().rmsnorm_forward(out, rstd, inp, m.param(w), N, c.d_model, c.norm_eps);
  else
    m.backend().layernorm_forward(out, mean, rstd, inp, m.param(w), m.param(b), N, c.d_model,
                                  c.norm_eps);
}

void norm_backward(Transformer& m, float* dinp, const float* dout, const float* inp,
                   const float* mean, const float* rstd, size_t w, size_t b, int N) {
  const ModelConfig& c = m.config();
  if (c.norm == NormKind::RmsNorm)
    m.backend().rmsnorm_backward(dinp, m.grad(w), dout, inp, m.param(w), rstd, N, c.d_model);
  else
    m.backend().layernorm_backward(dinp, m.grad(w), m.grad(b), dout, inp, m.param(w), mean, rstd,
                                   N, c.d_model);
}

void embed_forward(const Transformer& m, const Workspace& ws, float* x, int N) {
  const int D = m.config().d_model;
  m.backend().embedding_forward(x, ws.tokens, m.param(m.embed_offset()), N, D);
  if (ws.plan.input_ids)
    m.backend().table_add_forward(x, ws.plan.input_table, ws.plan.input_ids, N, D);
}

float head_scale(const ModelConfig& c) {
  return c.output_scale ? 1.0f / std::sqrt(float(c.d_model)) : 1.0f;
}

float attention_scale(const ModelConfig& c) {
  return c.qk_scale ? 1.0f / std::sqrt(float(c.d_head)) : 1.0f;
}

void head_forward(const Transformer& m, const Workspace& ws, int M) {
  const ModelConfig& c = m.config();
  if (M == 0) return;
  m.backend().gather_rows(ws.head_in, ws.lnf, ws.rows, M, c.d_model, head_scale(c));  // [M, D]
  m.backend().linear_forward(ws.logits, ws.head_in, m.param(m.head_offset()), M, c.d_model,
                             c.vocab_size);  // [M, V]
}

namespace {

ActivationKind activation_of(FfnKind f) {
  return f == FfnKind::Gelu ? ActivationKind::Gelu : ActivationKind::Relu;
}

// a.ffn_h [N, F] = act(W_up ln2) or gate_act(W_gate ln2) * (W_up ln2) (gate_act silu or gelu_tanh)
void ffn_forward(const Transformer& m, const BlockWeights& w, const BlockActs& a, int N) {
  Backend& be = m.backend();
  const int D = m.config().d_model, F = m.config().d_ff;
  const size_t NF = size_t(N) * F;
  if (m.config().gated_ffn()) {
    be.linear_forward(a.ffn_a, a.ln2, m.param(w.w_gate), N, D, F);
    be.linear_forward(a.ffn_b, a.ln2, m.param(w.w_up), N, D, F);
    if (m.config().ffn == FfnKind::GeGlu) be.geglu_forward(a.ffn_h, a.ffn_a, a.ffn_b, NF);
    else be.swiglu_forward(a.ffn_h, a.ffn_a, a.ffn_b, NF);
  } else {
    be.linear_forward(a.ffn_a, a.ln2, m.param(w.w_up), N, D, F);
    be.activation_forward(activation_of(m.config().ffn), a.ffn_h, a.ffn_a, NF);
  }
}

// d.d_h (= d ffn_h) -> d.d_norm (= d ln2), weight gradients added.
void ffn_backward(Transformer& m, const BlockWeights& w, const BlockActs& a,
                  const BackwardScratch& d, int N) {
  Backend& be = m.backend();
  const int D = m.config().d_model, F = m.config().d_ff;
  const size_t NF = size_t(N) * F;
  if (m.config().gated_ffn()) {
    if (m.config().ffn == FfnKind::GeGlu) be.geglu_backward(d.d_a, d.d_b, d.d_h, a.ffn_a, a.ffn_b, NF);
    else be.swiglu_backward(d.d_a, d.d_b, d.d_h, a.ffn_a, a.ffn_b, NF);
    be.linear_backward(d.d_norm, m.grad(w.w_gate), d.d_a, a.ln2, m.param(w.w_gate), N, D, F, false);
    be.linear_backward(d.d_norm, m.grad(w.w_up), d.d_b, a.ln2, m.param(w.w_up), N, D, F, true);
  } else {
    be.activation_backward(activation_of(m.config().ffn), d.d_a, d.d_h, a.ffn_a, NF);
    be.linear_backward(d.d_norm, m.grad(w.w_up), d.d_a, a.ln2, m.param(w.w_up), N, D, F, false);
  }
}

AttentionArgs attention_args(const Transformer& m, const BlockCall& call, const BlockActs& a,
                             const BlockKeys& keys, int layer) {
  const ModelConfig& c = m.config();
  AttentionArgs args;
  args.B = call.B, args.H = c.n_heads, args.dh = c.d_head, args.Q = call.Q, args.ld = c.hd();
  args.q = a.q;
  args.k = keys.cache_k ? keys.cache_k : a.k;
  args.v = keys.cache_v ? keys.cache_v : a.v;
  args.key_stride = keys.cache_k ? keys.capacity : call.Q;
  args.past = keys.cache_k ? call.plan->past : nullptr;
  args.scale = attention_scale(c);
  args.bias = call.plan->biased ? &call.plan->bias : nullptr;
  args.dropout = call.dropout;
  args.dropout_key = dropout_site_key(call.dropout_key, layer, DropoutSite::AttnProbs);
  return args;
}

// One block call: the sizes, weights, plan and dropout of every op in it.
class BlockPass {
 public:
  BlockPass(Transformer& model, int l, const BlockCall& c)
      : m(model), be(model.backend()), w(model.blocks()[size_t(l)]), plan(*c.plan), call(c),
        layer(l), N(c.B * c.Q), D(model.config().d_model), HD(model.config().hd()),
        F(model.config().d_ff), ND(size_t(N) * D), p(c.dropout) {}

  void forward(const BlockActs& a, float* x_out, float* branch, const BlockKeys& keys) const {
    // attention sub-layer
    norm_forward(m, a.ln1, a.ln1_mean, a.ln1_rstd, a.resid_in, w.norm1_w, w.norm1_b, N);
    be.linear_forward(a.q, a.ln1, m.param(w.wq), N, D, HD);  // [N, HD]
    be.linear_forward(a.k, a.ln1, m.param(w.wk), N, D, HD);
    be.linear_forward(a.v, a.ln1, m.param(w.wv), N, D, HD);
    if (plan.rotates) {
      be.rotate(a.q, N, HD, plan.rotate_q, 1.0f);
      be.rotate(a.k, N, HD, plan.rotate_k, 1.0f);
    }
    if (plan.relative.active) {  // the bias table from q + v, then the content queries q + u
      be.copy(plan.relative.queries, a.q, size_t(N) * HD * sizeof(float));
      relative_table();
      be.add_row_forward(a.q, m.param(relative_layer().content_bias), N, HD);
    }
    if (keys.cache_k) {  // the new keys and values join the cache before attention reads it
      be.kv_append(keys.cache_k, a.k, plan.past, call.B, call.Q, HD, keys.capacity);
      be.kv_append(keys.cache_v, a.v, plan.past, call.B, call.Q, HD, keys.capacity);
    }
    const AttentionArgs args = attention_args(m, call, a, keys, layer);
    if (call.capture) be.attention_probs(args, call.capture);
    be.attention_forward(args, a.att, a.lse);  // [N, HD]
    be.linear_forward(branch, a.att, m.param(w.wo), N, HD, D);
    be.dropout_forward(branch, ND, p, key(DropoutSite::AttnOut));
    be.add(a.resid_mid, a.resid_in, branch, ND);

    // feed-forward sub-layer
    norm_forward(m, a.ln2, a.ln2_mean, a.ln2_rstd, a.resid_mid, w.norm2_w, w.norm2_b, N);
    ffn_forward(m, w, a, N);  // [N, F]
    be.dropout_forward(a.ffn_h, size_t(N) * F, p, key(DropoutSite::FfnHidden));
    be.linear_forward(branch, a.ffn_h, m.param(w.w_down), N, F, D);
    be.dropout_forward(branch, ND, p, key(DropoutSite::FfnOut));
    be.add(x_out, a.resid_mid, branch, ND);
  }

  void backward(const BlockActs& a, const BackwardScratch& d) const {
    // feed-forward sub-layer (d_resid = d out = d mid through the residual)
    be.copy(d.d_branch, d.d_resid, ND * sizeof(float));
    be.dropout_backward(d.d_branch, ND, p, key(DropoutSite::FfnOut));
    be.linear_backward(d.d_h, m.grad(w.w_down), d.d_branch, a.ffn_h, m.param(w.w_down), N, F, D,
                       false);
    be.dropout_backward(d.d_h, size_t(N) * F, p, key(DropoutSite::FfnHidden));
    ffn_backward(m, w, a, d, N);
    norm_backward(m, d.d_resid, d.d_norm, a.resid_mid, a.ln2_mean, a.ln2_rstd, w.norm2_w,
                  w.norm2_b, N);

    // attention sub-layer (d_resid = d mid = d x through the residual)
    be.copy(d.d_branch, d.d_resid, ND * sizeof(float));
    be.dropout_backward(d.d_branch, ND, p, key(DropoutSite::AttnOut));
    be.linear_backward(d.d_att, m.grad(w.wo), d.d_branch, a.att, m.param(w.wo), N, HD, D, false);
    const AttentionArgs args = attention_args(m, call, a, {}, layer);
    if (plan.relative.active) {  // this layer's table again (q recomputed from ln1)
      be.linear_forward(plan.relative.queries, a.ln1, m.param(w.wq), N, D, HD);
      relative_table();
      be.zero(plan.relative.dtable, table_floats() * sizeof(float));
    }
    be.attention_backward(args, a.att, a.lse, d.d_att, d.dq, d.dk, d.dv);
    if (plan.relative.active) relative_table_backward(d);
    if (plan.rotates) {
      be.rotate(d.dq, N, HD, plan.rotate_q, -1.0f);
      be.rotate(d.dk, N, HD, plan.rotate_k, -1.0f);
    }
    be.linear_backward(d.d_norm, m.grad(w.wq), d.dq, a.ln1, m.param(w.wq), N, D, HD, false);
    be.linear_backward(d.d_norm, m.grad(w.wk), d.dk, a.ln1, m.param(w.wk), N, D, HD, true);
    be.linear_backward(d.d_norm, m.grad(w.wv), d.dv, a.ln1, m.param(w.wv), N, D, HD, true);
    norm_backward(m, d.d_resid, d.d_norm, a.resid_in, a.ln1_mean, a.ln1_rstd, w.norm1_w,
                  w.norm1_b, N);
  }

 private:
  uint64_t key(DropoutSite s) const { return dropout_site_key(call.dropout_key, layer, s); }

  // Transformer-XL (pe/plan.h RelativeKeysPlan), with relative.queries = q [N, HD]:
  //   keys [rows, HD] = W_r e;  queries += v;  table [N, H, rows] = scale queries . keys
  const RelativeKeysPlan::Layer& relative_layer() const {
    return plan.host.relative.layers[size_t(layer)];
  }
  size_t table_floats() const { return size_t(N) * m.config().n_heads * plan.relative.rows; }
  void relative_table() const {
    const auto& r = plan.relative;
    const ModelConfig& c = m.config();
    be.linear_forward(r.keys, r.embeddings, m.param(relative_layer().r_weight), r.rows, D, HD);
    be.add_row_forward(r.queries, m.param(relative_layer().position_bias), N, HD);
    be.relative_scores_forward(r.table, r.queries, r.keys, N, c.n_heads, c.d_head, r.rows,
                               attention_scale(c));
  }
  // d.dq = d(q + u) in, d q out; the gradients of u, v and W_r added.
  void relative_table_backward(const BackwardScratch& d) const {
    const auto& r = plan.relative;
    const ModelConfig& c = m.config();
    const RelativeKeysPlan::Layer& t = relative_layer();
    const size_t NHD = size_t(N) * HD;
    be.add_row_backward(m.grad(t.content_bias), d.dq, N, HD);
    be.zero(r.dqueries, NHD * sizeof(float));
    be.zero(r.dkeys, size_t(r.rows) * HD * sizeof(float));
    be.relative_scores_backward(r.dqueries, r.dkeys, r.dtable, r.queries, r.keys, N, c.n_heads,
                                c.d_head, r.rows, attention_scale(c));
    be.add_row_backward(m.grad(t.position_bias), r.dqueries, N, HD);
    be.add(d.dq, d.dq, r.dqueries, NHD);
    be.linear_backward(nullptr, m.grad(t.r_weight), r.dkeys, r.embeddings, m.param(t.r_weight),
                       r.rows, D, HD, false);
  }

  Transformer& m;
  Backend& be;
  const BlockWeights& w;
  const DevicePlan& plan;
  const BlockCall& call;
  int layer, N, D, HD, F;
  size_t ND;
  float p;
};

}  // namespace

void block_forward(Transformer& m, int layer, const BlockActs& a, float* x_out, float* branch,
                   const BlockCall& call, const BlockKeys& keys) {
  BlockPass(m, layer, call).forward(a, x_out, branch, keys);
}

void block_backward(Transformer& m, int layer, const BlockActs& a, const BlockCall& call,
                    const BackwardScratch& d) {
  BlockPass(m, layer, call).backward(a, d);
}

}  // namespace lengen
