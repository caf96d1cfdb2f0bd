#include "model/transformer.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "util/error.h"
#include "util/rng.h"

namespace lengen {

Transformer::Transformer(const ModelConfig& config, Backend& backend)
    : cfg_(config), backend_(&backend) {
  cfg_.validate();
  pe_ = make_positional_encoding(cfg_);
  build_layout();
  params_ = Buffer(backend, layout_.total() * sizeof(float));
}

void Transformer::build_layout() {
  const int64_t V = cfg_.vocab_size, D = cfg_.d_model, HD = cfg_.hd(), F = cfg_.d_ff;
  const bool t5 = cfg_.init == InitKind::T5;
  const float s = cfg_.init_std;
  // SPEC 1.1: embedding N(0,1); q N(0,(D dh)^-1/2); k, v, o, wi N(0, D^-1/2); wo N(0, F^-1/2).
  const float std_embed = cfg_.token_embedding_std();
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
    BlockWeights w;
    w.norm1_w = add(p + "input_layernorm.weight", {D}, Init::Ones);
    if (ln) w.norm1_b = add(p + "input_layernorm.bias", {D}, Init::Zeros);
    w.wq = add(p + "self_attn.q_proj.weight", {HD, D}, Init::Normal, std_q);
    w.wk = add(p + "self_attn.k_proj.weight", {HD, D}, Init::Normal, std_d);
    w.wv = add(p + "self_attn.v_proj.weight", {HD, D}, Init::Normal, std_d);
    w.wo = add(p + "self_attn.o_proj.weight", {D, HD}, Init::Normal, std_d);
    w.norm2_w = add(p + "post_attention_layernorm.weight", {D}, Init::Ones);
    if (ln) w.norm2_b = add(p + "post_attention_layernorm.bias", {D}, Init::Zeros);
    if (cfg_.gated_ffn())
      w.w_gate = add(p + "mlp.gate_proj.weight", {F, D}, Init::Normal, std_d);
    w.w_up = add(p + "mlp.up_proj.weight", {F, D}, Init::Normal, std_d);
    w.w_down = add(p + "mlp.down_proj.weight", {D, F}, Init::Normal, std_f);
    blocks_.push_back(w);
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

Buffer& Transformer::grads_buffer() {
  if (grads_.bytes() != params_.bytes()) grads_ = Buffer(*backend_, params_.bytes());
  return grads_;
}

float* Transformer::grad(size_t offset) { return grads_buffer().f32(offset); }

void Transformer::zero_grads() { backend_->zero(grads_buffer().data(), grads_.bytes()); }

void Transformer::init_weights(uint64_t seed) {
  Rng rng(seed);
  std::vector<float> host(layout_.total(), 0.0f);
  for (const auto& t : layout_.tensors()) {
    float* p = host.data() + t.offset;
    for (size_t i = 0; i < t.numel; ++i)
      p[i] = t.init == Init::Ones ? 1.0f
           : t.init == Init::Zeros ? 0.0f
                                   : float(rng.normal() * t.init_std);
  }
  pe_->init_parameters(host.data());
  params_from_host(host);
}

std::vector<float> Transformer::params_to_host() const {
  return download(*backend_, params_.f32(), layout_.total());
}

void Transformer::params_from_host(const std::vector<float>& host) {
  if (host.size() != layout_.total())
    fail("parameters: {} values for a layout of {}", host.size(), layout_.total());
  upload(*backend_, params_.f32(), host);
}

std::vector<float> Transformer::grads_to_host() {
  return download(*backend_, grads_buffer().f32(), layout_.total());
}

}  // namespace lengen
