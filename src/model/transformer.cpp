#include "model/transformer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "kernels/cpu/attention_cached.h"
#include "kernels/cpu/kernels.h"
#include "pe/bilevel.h"
#include "util/error.h"
#include "util/rng.h"

namespace lengen {

namespace k = kernels;

// Offsets into the parameter buffer of one block's tensors.
struct Transformer::LayerParams {
  size_t norm1_w = 0, norm1_b = 0, wq = 0, wk = 0, wv = 0, wo = 0;
  size_t norm2_w = 0, norm2_b = 0, w_up = 0, w_gate = 0, w_down = 0;
};

// Everything the backward pass needs from the forward pass, per layer, for the current [B, T].
struct Transformer::Activations {
  int B = 0, T = 0;
  std::vector<std::vector<float>> resid_in, resid_mid;       // [N, D] block input / after attn
  std::vector<std::vector<float>> ln1, ln1_mean, ln1_rstd;   // [N, D], [N], [N]
  std::vector<std::vector<float>> q, k, v, att;              // [N, HD] (q, k after the qk hook)
  std::vector<std::vector<float>> probs;                     // [B, H, T, T]
  std::vector<std::vector<float>> ln2, ln2_mean, ln2_rstd;
  std::vector<std::vector<float>> ffn_a, ffn_b, ffn_h;       // [N, F] pre-act (gate), up, hidden
  std::vector<float> resid_out, lnf, lnf_mean, lnf_rstd;     // final stream and its norm
  std::vector<float> bias;                                   // [B, H, T, T] score biases
  std::vector<int32_t> rows;                                 // token rows given to the head
  std::vector<float> head_in, logits;                        // [M, D] scaled, [M, V]
  std::vector<float> branch;                                 // [N, D] a sub-layer's output
  // Backward scratch, kept across steps so a step allocates (and page-faults) nothing.
  std::vector<float> d_head, d_lnf, d_resid, d_branch, d_norm;  // [M, D], [N, D] x 4
  std::vector<float> d_h, d_a, d_b;                             // [N, F]
  std::vector<float> d_att, dq, dk, dv;                         // [N, HD]
  std::vector<float> dbias;                                     // [B, H, T, T]
};

namespace {

// Dropout sites: each gets its own mask stream per layer.
enum Site : uint64_t { kEmbed = 0, kAttnProbs, kAttnOut, kFfnHidden, kFfnOut, kFinal };
uint64_t site_key(uint64_t key, int layer, Site site) {
  return hash_combine(key, uint64_t(layer + 1) * 16 + site);
}

void resize_all(std::vector<std::vector<float>>& v, int L, size_t n) {
  v.resize(L);
  for (auto& x : v) x.resize(n);
}

}  // namespace

Batch make_batch(const std::vector<std::vector<int32_t>>& rows, int pad_id,
                 const std::vector<int>& loss_from) {
  Batch b;
  b.B = int(rows.size());
  for (const auto& r : rows) b.T = std::max(b.T, int(r.size()));
  if (b.B == 0 || b.T == 0) fail("make_batch: empty batch");
  const size_t N = size_t(b.B) * b.T;
  b.tokens.assign(N, pad_id);
  b.targets.assign(N, pad_id);
  b.weights.assign(N, 0.0f);
  b.pos.resize(N);
  b.lengths.resize(b.B);
  size_t counted = 0;
  for (int r = 0; r < b.B; ++r) {
    const auto& row = rows[r];
    const int from = loss_from.empty() ? 0 : loss_from[r];
    b.lengths[r] = int(row.size());
    for (int t = 0; t < b.T; ++t) {
      const size_t n = size_t(r) * b.T + t;
      b.pos[n] = t;
      if (t < int(row.size())) b.tokens[n] = row[t];
      if (t + 1 < int(row.size())) {
        b.targets[n] = row[t + 1];
        if (t + 1 > from) {
          b.weights[n] = 1.0f;
          ++counted;
        }
      }
    }
  }
  if (counted > 0)
    for (float& w : b.weights) w = w > 0 ? 1.0f / float(counted) : 0.0f;
  return b;
}

Transformer::Transformer(const ModelConfig& config) : cfg_(config), act_(new Activations) {
  cfg_.validate();
  pe_ = make_positional_encoding(cfg_);
  build_layout();
  params_.assign(layout_.total(), 0.0f);
}

std::vector<float>& Transformer::grads() {
  if (grads_.size() != params_.size()) grads_.assign(params_.size(), 0.0f);
  return grads_;
}

Transformer::~Transformer() = default;

void Transformer::build_layout() {
  const int64_t V = cfg_.vocab_size, D = cfg_.d_model, HD = cfg_.hd(), F = cfg_.d_ff;
  const bool t5 = cfg_.init == InitKind::T5;
  const float s = cfg_.init_std;
  // SPEC 1.1: embedding N(0,1); q N(0,(D dh)^-1/2); k, v, o, wi N(0, D^-1/2); wo N(0, F^-1/2).
  const float std_embed = cfg_.embed_init_std > 0 ? cfg_.embed_init_std : t5 ? 1.0f : s;
  const float std_q = t5 ? float(std::pow(double(D) * cfg_.d_head, -0.5)) : s;
  const float std_d = t5 ? float(std::pow(double(D), -0.5)) : s;
  const float std_f = t5 ? float(std::pow(double(F), -0.5)) : s;
  const bool ln = cfg_.norm == NormKind::LayerNorm;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, Init init, float std = 0) {
    return layout_[layout_.add(name, std::move(shape), init, std)].offset;
  };
  embed_ = add("model.embed_tokens.weight", {V, D}, Init::Normal, std_embed);
  pe_->declare_parameters(layout_);
  for (int l = 0; l < cfg_.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LayerParams lp;
    lp.norm1_w = add(p + "input_layernorm.weight", {D}, Init::Ones);
    if (ln) lp.norm1_b = add(p + "input_layernorm.bias", {D}, Init::Zeros);
    lp.wq = add(p + "self_attn.q_proj.weight", {HD, D}, Init::Normal, std_q);
    lp.wk = add(p + "self_attn.k_proj.weight", {HD, D}, Init::Normal, std_d);
    lp.wv = add(p + "self_attn.v_proj.weight", {HD, D}, Init::Normal, std_d);
    lp.wo = add(p + "self_attn.o_proj.weight", {D, HD}, Init::Normal, std_d);
    lp.norm2_w = add(p + "post_attention_layernorm.weight", {D}, Init::Ones);
    if (ln) lp.norm2_b = add(p + "post_attention_layernorm.bias", {D}, Init::Zeros);
    if (cfg_.ffn == FfnKind::SwiGlu)
      lp.w_gate = add(p + "mlp.gate_proj.weight", {F, D}, Init::Normal, std_d);
    lp.w_up = add(p + "mlp.up_proj.weight", {F, D}, Init::Normal, std_d);
    lp.w_down = add(p + "mlp.down_proj.weight", {D, F}, Init::Normal, std_f);
    layers_.push_back(lp);
  }
  final_norm_w_ = add("model.norm.weight", {D}, Init::Ones);
  if (ln) final_norm_b_ = add("model.norm.bias", {D}, Init::Zeros);
  // An untied head: N(0, 1) under T5 init (HF T5 does so), else N(0, init_std).
  if (!cfg_.tie_embeddings) lm_head_ = add("lm_head.weight", {V, D}, Init::Normal, t5 ? 1.0f : s);
}

size_t Transformer::num_parameters() const {
  size_t n = 0;
  for (const auto& t : layout_.tensors()) n += t.numel;
  return n;
}

void Transformer::init_weights(uint64_t seed) {
  Rng rng(seed);
  std::fill(params_.begin(), params_.end(), 0.0f);
  for (const auto& t : layout_.tensors()) {
    float* p = params_.data() + t.offset;
    for (size_t i = 0; i < t.numel; ++i)
      p[i] = t.init == Init::Ones ? 1.0f
           : t.init == Init::Zeros ? 0.0f
                                   : float(rng.normal() * t.init_std);
  }
  pe_->init_parameters(params_.data());
}

void Transformer::zero_grads() {
  std::vector<float>& g = grads();
  std::fill(g.begin(), g.end(), 0.0f);
}

// ---------------------------------------------------------------------------------------------
// forward

namespace {

void norm_forward(const ModelConfig& c, float* out, float* mean, float* rstd, const float* inp,
                  const float* w, const float* b, int N) {
  if (c.norm == NormKind::RmsNorm)
    k::rmsnorm_forward(out, rstd, inp, w, N, c.d_model, c.norm_eps);
  else
    k::layernorm_forward(out, mean, rstd, inp, w, b, N, c.d_model, c.norm_eps);
}

void norm_backward(const ModelConfig& c, float* dinp, float* dw, float* db, const float* dout,
                   const float* inp, const float* w, const float* mean, const float* rstd, int N) {
  if (c.norm == NormKind::RmsNorm)
    k::rmsnorm_backward(dinp, dw, dout, inp, w, rstd, N, c.d_model);
  else
    k::layernorm_backward(dinp, dw, db, dout, inp, w, mean, rstd, N, c.d_model);
}

void add_inplace(float* x, const float* y, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace

void Transformer::forward(const Batch& batch, bool training, uint64_t dropout_key) {
  const int B = batch.B, T = batch.T, N = B * T, L = cfg_.n_layers;
  const int D = cfg_.d_model, HD = cfg_.hd(), F = cfg_.d_ff, H = cfg_.n_heads;
  const float p = training ? cfg_.dropout : 0.0f;
  if (int(batch.tokens.size()) != N || int(batch.pos.size()) != N)
    fail("batch: tokens/positions size does not match B*T = {}", N);
  for (int n = 0; n < N; ++n)
    if (batch.tokens[n] < 0 || batch.tokens[n] >= cfg_.vocab_size)
      fail("token id {} at batch position {} is outside the vocabulary of {}", batch.tokens[n], n,
           cfg_.vocab_size);
  if (pe_->needs_segments() && (batch.seg.empty() || batch.intra.empty()))
    fail("positional encoding '{}' needs segment ids; the batch has none", pe_->name());
  const Positions pos = batch.positions();
  pe_->check_positions(pos, N);

  Activations& a = *act_;
  a.B = B, a.T = T;
  const size_t TT = size_t(T) * T;
  resize_all(a.resid_in, L, size_t(N) * D);
  resize_all(a.resid_mid, L, size_t(N) * D);
  resize_all(a.ln1, L, size_t(N) * D);
  resize_all(a.ln1_mean, L, N);
  resize_all(a.ln1_rstd, L, N);
  resize_all(a.ln2, L, size_t(N) * D);
  resize_all(a.ln2_mean, L, N);
  resize_all(a.ln2_rstd, L, N);
  for (auto* v : {&a.q, &a.k, &a.v, &a.att}) resize_all(*v, L, size_t(N) * HD);
  resize_all(a.probs, L, size_t(B) * H * TT);
  resize_all(a.ffn_a, L, size_t(N) * F);
  resize_all(a.ffn_b, L, cfg_.ffn == FfnKind::SwiGlu ? size_t(N) * F : 0);
  resize_all(a.ffn_h, L, size_t(N) * F);
  a.resid_out.resize(size_t(N) * D);
  a.lnf.resize(size_t(N) * D);
  a.lnf_mean.resize(N);
  a.lnf_rstd.resize(N);

  // Embedding + input-side positional signal, then dropout.
  float* x = a.resid_in[0].data();
  k::embedding_forward(x, batch.tokens.data(), P(embed_), N, D);
  if (pe_->acts_on_input()) pe_->input_forward(params_.data(), pos, N, x);
  k::dropout_forward(x, size_t(N) * D, p, site_key(dropout_key, -1, kEmbed));

  // Score biases: identical in every layer, computed once per batch row.
  const float* bias = nullptr;
  if (pe_->acts_on_scores()) {
    a.bias.resize(size_t(B) * H * TT);
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; ++b) {
      const Positions pb = pos.offset(b * T);
      pe_->scores_forward(params_.data(), pb, T, pb, T, a.bias.data() + size_t(b) * H * TT);
    }
    bias = a.bias.data();
  }
  const float scale = cfg_.qk_scale ? 1.0f / std::sqrt(float(cfg_.d_head)) : 1.0f;
  const k::AttentionShape shape{B, T, H, cfg_.d_head};
  std::vector<float>& tmp = a.branch;
  tmp.resize(size_t(N) * D);

  for (int l = 0; l < L; ++l) {
    const LayerParams& lp = layers_[l];
    const float* xin = a.resid_in[l].data();
    // attention sub-layer
    norm_forward(cfg_, a.ln1[l].data(), a.ln1_mean[l].data(), a.ln1_rstd[l].data(), xin,
                 P(lp.norm1_w), P(lp.norm1_b), N);
    k::linear_forward(a.q[l].data(), a.ln1[l].data(), P(lp.wq), N, D, HD);
    k::linear_forward(a.k[l].data(), a.ln1[l].data(), P(lp.wk), N, D, HD);
    k::linear_forward(a.v[l].data(), a.ln1[l].data(), P(lp.wv), N, D, HD);
    if (pe_->acts_on_qk()) {
      pe_->qk_forward(pos, N, a.q[l].data(), HD, false);
      pe_->qk_forward(pos, N, a.k[l].data(), HD, true);
    }
    k::attention_forward(a.att[l].data(), a.probs[l].data(), a.q[l].data(), a.k[l].data(),
                         a.v[l].data(), bias, shape, scale, p,
                         site_key(dropout_key, l, kAttnProbs));
    k::linear_forward(tmp.data(), a.att[l].data(), P(lp.wo), N, HD, D);
    k::dropout_forward(tmp.data(), tmp.size(), p, site_key(dropout_key, l, kAttnOut));
    float* mid = a.resid_mid[l].data();
    std::memcpy(mid, xin, sizeof(float) * size_t(N) * D);
    add_inplace(mid, tmp.data(), tmp.size());
    // feed-forward sub-layer
    norm_forward(cfg_, a.ln2[l].data(), a.ln2_mean[l].data(), a.ln2_rstd[l].data(), mid,
                 P(lp.norm2_w), P(lp.norm2_b), N);
    const size_t NF = size_t(N) * F;
    switch (cfg_.ffn) {
      case FfnKind::Relu:
        k::linear_forward(a.ffn_a[l].data(), a.ln2[l].data(), P(lp.w_up), N, D, F);
        k::relu_forward(a.ffn_h[l].data(), a.ffn_a[l].data(), NF);
        break;
      case FfnKind::Gelu:
        k::linear_forward(a.ffn_a[l].data(), a.ln2[l].data(), P(lp.w_up), N, D, F);
        k::gelu_forward(a.ffn_h[l].data(), a.ffn_a[l].data(), NF);
        break;
      case FfnKind::SwiGlu:
        k::linear_forward(a.ffn_a[l].data(), a.ln2[l].data(), P(lp.w_gate), N, D, F);
        k::linear_forward(a.ffn_b[l].data(), a.ln2[l].data(), P(lp.w_up), N, D, F);
        k::swiglu_forward(a.ffn_h[l].data(), a.ffn_a[l].data(), a.ffn_b[l].data(), NF);
        break;
    }
    k::dropout_forward(a.ffn_h[l].data(), NF, p, site_key(dropout_key, l, kFfnHidden));
    k::linear_forward(tmp.data(), a.ffn_h[l].data(), P(lp.w_down), N, F, D);
    k::dropout_forward(tmp.data(), tmp.size(), p, site_key(dropout_key, l, kFfnOut));
    float* out = l + 1 < L ? a.resid_in[l + 1].data() : a.resid_out.data();
    std::memcpy(out, mid, sizeof(float) * size_t(N) * D);
    add_inplace(out, tmp.data(), tmp.size());
  }
  norm_forward(cfg_, a.lnf.data(), a.lnf_mean.data(), a.lnf_rstd.data(), a.resid_out.data(),
               P(final_norm_w_), P(final_norm_b_), N);
  k::dropout_forward(a.lnf.data(), a.lnf.size(), p, site_key(dropout_key, L, kFinal));
}

// logits [M, V] of the chosen token rows: E (h * D^-0.5) when tied and scaled (t5), else W h.
void Transformer::output_logits(const std::vector<int32_t>& rows, int N, bool, uint64_t) {
  Activations& a = *act_;
  const int D = cfg_.d_model, V = cfg_.vocab_size, M = int(rows.size());
  const float s = cfg_.output_scale ? 1.0f / std::sqrt(float(D)) : 1.0f;
  a.rows = rows;
  a.head_in.resize(size_t(M) * D);
  for (int m = 0; m < M; ++m) {
    if (rows[m] < 0 || rows[m] >= N) fail("logits: token row {} out of range", rows[m]);
    const float* src = a.lnf.data() + size_t(rows[m]) * D;
    float* dst = a.head_in.data() + size_t(m) * D;
    for (int d = 0; d < D; ++d) dst[d] = src[d] * s;
  }
  a.logits.resize(size_t(M) * V);
  if (M > 0)
    k::linear_forward(a.logits.data(), a.head_in.data(),
                      P(cfg_.tie_embeddings ? embed_ : lm_head_), M, D, V);
}

// ---------------------------------------------------------------------------------------------
// backward (expects act_->logits to hold dloss/dlogits of act_->rows)

void Transformer::backward(const Batch& batch, uint64_t dropout_key) {
  Activations& a = *act_;
  const int B = batch.B, T = batch.T, N = B * T, L = cfg_.n_layers;
  const int D = cfg_.d_model, HD = cfg_.hd(), F = cfg_.d_ff, H = cfg_.n_heads, V = cfg_.vocab_size;
  const int M = int(a.rows.size());
  const float p = cfg_.dropout;
  const Positions pos = batch.positions();
  const size_t ND = size_t(N) * D, NHD = size_t(N) * HD, NF = size_t(N) * F;
  const size_t TT = size_t(T) * T;

  // head
  const size_t head = cfg_.tie_embeddings ? embed_ : lm_head_;
  std::vector<float>& d_head = a.d_head;
  d_head.resize(size_t(M) * D);
  k::linear_backward(d_head.data(), G(head), a.logits.data(), a.head_in.data(), P(head), M, D, V,
                     false);
  const float s = cfg_.output_scale ? 1.0f / std::sqrt(float(D)) : 1.0f;
  std::vector<float>& d_lnf = a.d_lnf;
  d_lnf.assign(ND, 0.0f);
  for (int m = 0; m < M; ++m)
    for (int d = 0; d < D; ++d) d_lnf[size_t(a.rows[m]) * D + d] += s * d_head[size_t(m) * D + d];
  k::dropout_backward(d_lnf.data(), ND, p, site_key(dropout_key, L, kFinal));
  std::vector<float>& d_resid = a.d_resid;
  d_resid.assign(ND, 0.0f);
  norm_backward(cfg_, d_resid.data(), G(final_norm_w_), G(final_norm_b_), d_lnf.data(),
                a.resid_out.data(), P(final_norm_w_), a.lnf_mean.data(), a.lnf_rstd.data(), N);

  std::vector<float>&d_branch = a.d_branch, &d_norm = a.d_norm, &d_h = a.d_h, &d_a = a.d_a;
  std::vector<float>&d_b = a.d_b, &d_att = a.d_att, &dq = a.dq, &dk = a.dk, &dv = a.dv;
  for (auto* v : {&d_branch, &d_norm}) v->resize(ND);
  for (auto* v : {&d_h, &d_a}) v->resize(NF);
  for (auto* v : {&d_att, &dq, &dk, &dv}) v->resize(NHD);
  d_b.resize(cfg_.ffn == FfnKind::SwiGlu ? NF : 0);
  std::vector<float>& dbias = a.dbias;
  dbias.assign(pe_->has_learned_scores() ? size_t(B) * H * TT : 0, 0.0f);
  const float scale = cfg_.qk_scale ? 1.0f / std::sqrt(float(cfg_.d_head)) : 1.0f;
  const k::AttentionShape shape{B, T, H, cfg_.d_head};

  for (int l = L - 1; l >= 0; --l) {
    const LayerParams& lp = layers_[l];
    // feed-forward sub-layer: out = mid + drop(W_down drop(act(...)))
    std::memcpy(d_branch.data(), d_resid.data(), ND * sizeof(float));
    k::dropout_backward(d_branch.data(), ND, p, site_key(dropout_key, l, kFfnOut));
    k::linear_backward(d_h.data(), G(lp.w_down), d_branch.data(), a.ffn_h[l].data(), P(lp.w_down),
                       N, F, D, false);
    k::dropout_backward(d_h.data(), NF, p, site_key(dropout_key, l, kFfnHidden));
    switch (cfg_.ffn) {
      case FfnKind::Relu:
        k::relu_backward(d_a.data(), d_h.data(), a.ffn_a[l].data(), NF);
        k::linear_backward(d_norm.data(), G(lp.w_up), d_a.data(), a.ln2[l].data(), P(lp.w_up), N,
                           D, F, false);
        break;
      case FfnKind::Gelu:
        k::gelu_backward(d_a.data(), d_h.data(), a.ffn_a[l].data(), NF);
        k::linear_backward(d_norm.data(), G(lp.w_up), d_a.data(), a.ln2[l].data(), P(lp.w_up), N,
                           D, F, false);
        break;
      case FfnKind::SwiGlu:
        k::swiglu_backward(d_a.data(), d_b.data(), d_h.data(), a.ffn_a[l].data(),
                           a.ffn_b[l].data(), NF);
        k::linear_backward(d_norm.data(), G(lp.w_gate), d_a.data(), a.ln2[l].data(),
                           P(lp.w_gate), N, D, F, false);
        k::linear_backward(d_norm.data(), G(lp.w_up), d_b.data(), a.ln2[l].data(), P(lp.w_up), N,
                           D, F, true);
        break;
    }
    norm_backward(cfg_, d_resid.data(), G(lp.norm2_w), G(lp.norm2_b), d_norm.data(),
                  a.resid_mid[l].data(), P(lp.norm2_w), a.ln2_mean[l].data(),
                  a.ln2_rstd[l].data(), N);
    // attention sub-layer: mid = in + drop(W_o attn(q, k, v))
    std::memcpy(d_branch.data(), d_resid.data(), ND * sizeof(float));
    k::dropout_backward(d_branch.data(), ND, p, site_key(dropout_key, l, kAttnOut));
    k::linear_backward(d_att.data(), G(lp.wo), d_branch.data(), a.att[l].data(), P(lp.wo), N, HD,
                       D, false);
    k::attention_backward(dq.data(), dk.data(), dv.data(), dbias.empty() ? nullptr : dbias.data(),
                          d_att.data(), a.q[l].data(), a.k[l].data(), a.v[l].data(),
                          a.probs[l].data(), shape, scale, p,
                          site_key(dropout_key, l, kAttnProbs));
    if (pe_->acts_on_qk()) {
      pe_->qk_backward(pos, N, dq.data(), HD, false);
      pe_->qk_backward(pos, N, dk.data(), HD, true);
    }
    k::linear_backward(d_norm.data(), G(lp.wq), dq.data(), a.ln1[l].data(), P(lp.wq), N, D, HD,
                       false);
    k::linear_backward(d_norm.data(), G(lp.wk), dk.data(), a.ln1[l].data(), P(lp.wk), N, D, HD,
                       true);
    k::linear_backward(d_norm.data(), G(lp.wv), dv.data(), a.ln1[l].data(), P(lp.wv), N, D, HD,
                       true);
    norm_backward(cfg_, d_resid.data(), G(lp.norm1_w), G(lp.norm1_b), d_norm.data(),
                  a.resid_in[l].data(), P(lp.norm1_w), a.ln1_mean[l].data(), a.ln1_rstd[l].data(),
                  N);
  }
  // embeddings and input-side encoding
  k::dropout_backward(d_resid.data(), ND, p, site_key(dropout_key, -1, kEmbed));
  if (pe_->acts_on_input()) pe_->input_backward(params_.data(), pos, N, d_resid.data(), grads_.data());
  k::embedding_backward(G(embed_), batch.tokens.data(), d_resid.data(), N, D);
  if (!dbias.empty())
    for (int b = 0; b < B; ++b) {
      const Positions pb = pos.offset(b * T);
      pe_->scores_backward(params_.data(), pb, T, pb, T, dbias.data() + size_t(b) * H * TT,
                           grads_.data());
    }
}

// ---------------------------------------------------------------------------------------------
// public entry points

namespace {
std::vector<int32_t> weighted_rows(const Batch& batch) {
  std::vector<int32_t> rows;
  for (size_t n = 0; n < batch.weights.size(); ++n)
    if (batch.weights[n] != 0.0f) rows.push_back(int32_t(n));
  return rows;
}
void check_targets(const Batch& batch, const std::vector<int32_t>& rows, int V) {
  for (int32_t n : rows)
    if (batch.targets[n] < 0 || batch.targets[n] >= V)
      fail("target id {} at batch position {} is outside the vocabulary of {}", batch.targets[n], n,
           V);
}
}  // namespace

double Transformer::forward_backward(const Batch& batch, uint64_t dropout_key) {
  grads();  // allocated before backward() writes through G()
  const std::vector<int32_t> rows = weighted_rows(batch);
  check_targets(batch, rows, cfg_.vocab_size);
  forward(batch, true, dropout_key);
  output_logits(rows, batch.B * batch.T, true, dropout_key);
  std::vector<int32_t> targets(rows.size());
  std::vector<float> weights(rows.size());
  for (size_t m = 0; m < rows.size(); ++m) {
    targets[m] = batch.targets[rows[m]];
    weights[m] = batch.weights[rows[m]];
  }
  const double loss = k::softmax_xent_forward_backward(act_->logits.data(), targets.data(),
                                                       weights.data(), int(rows.size()),
                                                       cfg_.vocab_size, nullptr);
  backward(batch, dropout_key);
  return loss;
}

double Transformer::loss(const Batch& batch) {
  const std::vector<int32_t> rows = weighted_rows(batch);
  check_targets(batch, rows, cfg_.vocab_size);
  forward(batch, false, 0);
  output_logits(rows, batch.B * batch.T, false, 0);
  std::vector<int32_t> targets(rows.size());
  std::vector<float> weights(rows.size());
  for (size_t m = 0; m < rows.size(); ++m) {
    targets[m] = batch.targets[rows[m]];
    weights[m] = batch.weights[rows[m]];
  }
  return k::softmax_xent_forward_backward(act_->logits.data(), targets.data(), weights.data(),
                                          int(rows.size()), cfg_.vocab_size, nullptr);
}

void Transformer::logits(const Batch& batch, const std::vector<int32_t>& rows,
                         std::vector<float>& out) {
  forward(batch, false, 0);
  output_logits(rows, batch.B * batch.T, false, 0);
  out = act_->logits;
}

std::vector<float> Transformer::score(const Batch& batch) {
  const int N = batch.B * batch.T, V = cfg_.vocab_size;
  std::vector<int32_t> rows(N);
  for (int n = 0; n < N; ++n) rows[n] = n;
  check_targets(batch, rows, V);
  std::vector<float> lp;
  logits(batch, rows, lp);
  k::log_softmax_inplace(lp.data(), N, V);
  std::vector<float> out(N);
  for (int n = 0; n < N; ++n) out[n] = lp[size_t(n) * V + batch.targets[n]];
  return out;
}

std::span<const float> Transformer::attention_row(int layer, int batch_row, int head,
                                                  int query) const {
  const Activations& a = *act_;
  const int H = cfg_.n_heads;
  if (a.probs.size() != size_t(cfg_.n_layers) || a.T == 0)
    fail("attention_row: no forward pass has run on this model");
  if (layer < 0 || layer >= cfg_.n_layers || batch_row < 0 || batch_row >= a.B || head < 0 ||
      head >= H || query < 0 || query >= a.T)
    fail("attention_row: (layer {}, row {}, head {}, query {}) outside [{}, {}, {}, {}]", layer,
         batch_row, head, query, cfg_.n_layers, a.B, H, a.T);
  const size_t T = size_t(a.T);
  const size_t row = (size_t(batch_row) * H + size_t(head)) * T + size_t(query);  // [B, H, T, T]
  return {a.probs[size_t(layer)].data() + row * T, size_t(query) + 1};
}

// ---------------------------------------------------------------------------------------------
// KV-cache decoding

KVCache::KVCache(const Transformer& model, int batch, int capacity)
    : B_(batch), capacity_(capacity), L_(model.config().n_layers), HD_(model.config().hd()) {
  length_.assign(B_, 0);
  k_.assign(size_t(L_) * B_ * capacity_ * HD_, 0.0f);
  v_.assign(k_.size(), 0.0f);
  pos_.assign(size_t(B_) * capacity_, 0);
  if (model.pe().needs_segments()) {
    seg_.assign(pos_.size(), 0);
    intra_.assign(pos_.size(), 0);
  }
}

Positions KVCache::positions(int b) const {
  const size_t o = size_t(b) * capacity_;
  return {pos_.data() + o, seg_.empty() ? nullptr : seg_.data() + o,
          intra_.empty() ? nullptr : intra_.data() + o};
}

void Transformer::prefill(const Batch& prompts, KVCache& cache, std::vector<float>& last_logits) {
  const int B = prompts.B, T = prompts.T, HD = cfg_.hd();
  if (B != cache.B_) fail("prefill: batch of {} rows for a cache of {}", B, cache.B_);
  for (int b = 0; b < B; ++b)
    if (prompts.lengths[b] < 1 || prompts.lengths[b] > cache.capacity_)
      fail("prefill: prompt {} has {} tokens; the cache holds 1..{}", b, prompts.lengths[b],
           cache.capacity_);
  forward(prompts, false, 0);
  std::vector<int32_t> rows(B);
  for (int b = 0; b < B; ++b) {
    const int len = prompts.lengths[b];
    rows[b] = b * T + len - 1;
    cache.length_[b] = len;
    for (int l = 0; l < cfg_.n_layers; ++l) {
      std::memcpy(cache.k(l, b), act_->k[l].data() + size_t(b) * T * HD, sizeof(float) * len * HD);
      std::memcpy(cache.v(l, b), act_->v[l].data() + size_t(b) * T * HD, sizeof(float) * len * HD);
    }
    const size_t o = size_t(b) * cache.capacity_, src = size_t(b) * T;
    std::copy_n(prompts.pos.begin() + src, len, cache.pos_.begin() + o);
    if (!cache.seg_.empty()) {
      std::copy_n(prompts.seg.begin() + src, len, cache.seg_.begin() + o);
      std::copy_n(prompts.intra.begin() + src, len, cache.intra_.begin() + o);
    }
  }
  output_logits(rows, B * T, false, 0);
  last_logits = act_->logits;
}

void Transformer::decode_step(const std::vector<int32_t>& tokens, const Positions& p,
                              KVCache& cache, std::vector<float>& logits) {
  extend(tokens, 1, p, cache, logits);  // one new token per row
}

void Transformer::ffn_rows(const LayerParams& lp, const float* in, int N, float* fa, float* fb,
                           float* fh, float* out) const {
  const int D = cfg_.d_model, F = cfg_.d_ff;
  const size_t NF = size_t(N) * F;
  switch (cfg_.ffn) {
    case FfnKind::Relu:
      k::linear_forward(fa, in, P(lp.w_up), N, D, F);
      k::relu_forward(fh, fa, NF);
      break;
    case FfnKind::Gelu:
      k::linear_forward(fa, in, P(lp.w_up), N, D, F);
      k::gelu_forward(fh, fa, NF);
      break;
    case FfnKind::SwiGlu:
      k::linear_forward(fa, in, P(lp.w_gate), N, D, F);
      k::linear_forward(fb, in, P(lp.w_up), N, D, F);
      k::swiglu_forward(fh, fa, fb, NF);
      break;
  }
  k::linear_forward(out, fh, P(lp.w_down), N, F, D);
}

void Transformer::extend(const std::vector<int32_t>& tokens, int Q, const Positions& p,
                         KVCache& cache, std::vector<float>& logits) {
  const int B = cache.B_, N = B * Q, D = cfg_.d_model, HD = cfg_.hd(), F = cfg_.d_ff;
  const int H = cfg_.n_heads, dh = cfg_.d_head;
  if (Q < 1 || int(tokens.size()) != N)
    fail("extend: {} tokens for {} cache rows of {} new tokens", tokens.size(), B, Q);
  for (int b = 0; b < B; ++b)
    if (cache.length_[b] + Q > cache.capacity_)
      fail("extend: row {} would hold {} tokens; the cache holds {}", b, cache.length_[b] + Q,
           cache.capacity_);
  for (int n = 0; n < N; ++n)
    if (tokens[n] < 0 || tokens[n] >= cfg_.vocab_size)
      fail("extend: token id {} outside the vocabulary of {}", tokens[n], cfg_.vocab_size);
  if (pe_->needs_segments() && (!p.seg || !p.intra))
    fail("positional encoding '{}' needs segment ids", pe_->name());
  pe_->check_positions(p, N);
  for (int b = 0; b < B; ++b)
    for (int a = 0; a < Q; ++a) {
      const size_t o = size_t(b) * cache.capacity_ + cache.length_[b] + a, src = size_t(b) * Q + a;
      cache.pos_[o] = p.pos[src];
      if (!cache.seg_.empty()) cache.seg_[o] = p.seg[src], cache.intra_[o] = p.intra[src];
    }
  std::vector<float> x(size_t(N) * D), h(size_t(N) * D), mean(N), rstd(N), tmp(size_t(N) * D);
  std::vector<float> q(size_t(N) * HD), kk(size_t(N) * HD), vv(size_t(N) * HD), att(size_t(N) * HD);
  std::vector<float> fa(size_t(N) * F), fb(size_t(N) * F), fh(size_t(N) * F);
  k::embedding_forward(x.data(), tokens.data(), P(embed_), N, D);
  if (pe_->acts_on_input()) pe_->input_forward(params_.data(), p, N, x.data());
  const float scale = cfg_.qk_scale ? 1.0f / std::sqrt(float(dh)) : 1.0f;
  // Score biases of each row's block against its whole cache [B][H, Q, n_b]: same in every layer.
  std::vector<std::vector<float>> bias(B);
  if (pe_->acts_on_scores())
    for (int b = 0; b < B; ++b) {
      const int n = cache.length_[b] + Q;
      bias[b].resize(size_t(H) * Q * n);
      pe_->scores_forward(params_.data(), p.offset(b * Q), Q, cache.positions(b), n, bias[b].data());
    }
  for (int l = 0; l < cfg_.n_layers; ++l) {
    const LayerParams& lp = layers_[l];
    norm_forward(cfg_, h.data(), mean.data(), rstd.data(), x.data(), P(lp.norm1_w), P(lp.norm1_b),
                 N);
    k::linear_forward(q.data(), h.data(), P(lp.wq), N, D, HD);
    k::linear_forward(kk.data(), h.data(), P(lp.wk), N, D, HD);
    k::linear_forward(vv.data(), h.data(), P(lp.wv), N, D, HD);
    if (pe_->acts_on_qk()) {
      pe_->qk_forward(p, N, q.data(), HD, false);
      pe_->qk_forward(p, N, kk.data(), HD, true);
    }
    for (int b = 0; b < B; ++b) {
      const size_t at = size_t(cache.length_[b]) * HD, src = size_t(b) * Q * HD;
      std::memcpy(cache.k(l, b) + at, kk.data() + src, sizeof(float) * Q * HD);
      std::memcpy(cache.v(l, b) + at, vv.data() + src, sizeof(float) * Q * HD);
    }
#pragma omp parallel
    {
      std::vector<float> scratch;
#pragma omp for schedule(static)
      for (int bh = 0; bh < B * H; ++bh) {
        const int b = bh / H, hh = bh % H, past = cache.length_[b], n = past + Q;
        scratch.resize(size_t(Q) * n);
        const size_t row = size_t(b) * Q * HD + size_t(hh) * dh;
        k::attention_cached_forward(att.data() + row, q.data() + row, cache.k(l, b) + hh * dh,
                                    cache.v(l, b) + hh * dh,
                                    bias[b].empty() ? nullptr : bias[b].data() + size_t(hh) * Q * n,
                                    Q, past, dh, HD, scale, scratch.data());
      }
    }
    k::linear_forward(tmp.data(), att.data(), P(lp.wo), N, HD, D);
    add_inplace(x.data(), tmp.data(), tmp.size());
    norm_forward(cfg_, h.data(), mean.data(), rstd.data(), x.data(), P(lp.norm2_w), P(lp.norm2_b),
                 N);
    ffn_rows(lp, h.data(), N, fa.data(), fb.data(), fh.data(), tmp.data());
    add_inplace(x.data(), tmp.data(), tmp.size());
  }
  for (int b = 0; b < B; ++b) cache.length_[b] += Q;
  Activations& a = *act_;
  a.lnf.resize(size_t(N) * D);
  a.lnf_mean.resize(N);
  a.lnf_rstd.resize(N);
  norm_forward(cfg_, a.lnf.data(), a.lnf_mean.data(), a.lnf_rstd.data(), x.data(),
               P(final_norm_w_), P(final_norm_b_), N);
  std::vector<int32_t> rows(N);
  for (int n = 0; n < N; ++n) rows[n] = n;
  output_logits(rows, N, false, 0);
  logits = a.logits;
}

std::vector<std::vector<int32_t>> greedy_decode(Transformer& model,
                                                const std::vector<std::vector<int32_t>>& prompts,
                                                int max_new_tokens, int eos_id, int pad_id,
                                                const DecodePositions& positions) {
  const int B = int(prompts.size()), V = model.config().vocab_size;
  std::vector<std::vector<int32_t>> out(B);
  if (B == 0 || max_new_tokens <= 0) return out;
  Batch batch = make_batch(prompts, pad_id);
  std::vector<int32_t> seg(B, 0), intra(B, 0);
  if (positions) {  // task-supplied position streams (coupling, Abacus, offsets)
    batch.seg.assign(batch.pos.size(), 0);
    batch.intra.assign(batch.pos.size(), 0);
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < batch.T; ++t) {
        const size_t n = size_t(b) * batch.T + t;
        positions(b, t, batch.pos[n], batch.seg[n], batch.intra[n]);
      }
  }
  add_bilevel_positions(model.config(), batch);  // bilevel encodings: segments from the tokens
  // Bilevel encodings: each row's segment state continues from its prompt.
  std::optional<Segmenter> segmenter;
  std::vector<Segmenter::State> seg_state(B);
  if (is_bilevel(model.config())) {
    segmenter.emplace(bilevel_settings(model.config(), "model"), V);
    for (int b = 0; b < B; ++b)
      for (int32_t token : prompts[b]) segmenter->next(seg_state[b], token, seg[b], intra[b]);
  }
  int longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, int(p.size()));
  KVCache cache(model, B, longest + max_new_tokens);
  std::vector<float> logits;
  model.prefill(batch, cache, logits);
  std::vector<char> done(B, 0);
  std::vector<int32_t> next(B), pos(B);
  for (int step = 0; step < max_new_tokens; ++step) {
    int active = 0;
    for (int b = 0; b < B; ++b) {
      const float* row = logits.data() + size_t(b) * V;
      next[b] = int32_t(std::max_element(row, row + V) - row);
      if (!done[b]) {
        out[b].push_back(next[b]);
        if (next[b] == eos_id) done[b] = 1;
      }
      active += !done[b];
    }
    if (active == 0 || step + 1 == max_new_tokens) break;
    for (int b = 0; b < B; ++b) {
      pos[b] = cache.length(b);  // default positions: 0, 1, 2, ...
      if (positions) positions(b, cache.length(b), pos[b], seg[b], intra[b]);
    }
    if (segmenter)
      for (int b = 0; b < B; ++b) segmenter->next(seg_state[b], next[b], seg[b], intra[b]);
    const bool streams = positions || segmenter;
    model.decode_step(next, streams ? Positions{pos.data(), seg.data(), intra.data()}
                                    : Positions{pos.data(), nullptr, nullptr},
                      cache, logits);
  }
  return out;
}

}  // namespace lengen
